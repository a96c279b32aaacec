# The stream_app worker image (for users with a Docker engine; see docker-compose.yml).
# Built in two stages: the wheel (with its C scanner, stream_app.coverage._linescan) where gcc is,
# the image without gcc.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY stream_app ./stream_app
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && python -c "import stream_app.coverage._linescan"
ENTRYPOINT ["stream-app"]
CMD ["worker"]
