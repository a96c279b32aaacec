# The stream_app worker image (for users with a Docker engine; see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY stream_app ./stream_app
RUN pip install --no-cache-dir .
ENTRYPOINT ["stream-app"]
CMD ["worker"]
