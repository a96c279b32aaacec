"""The C part of the package: everything else is in pyproject.toml.

stream_app.coverage._linescan reads the regular lines of Go, LCOV and gcov reports. It is
optional: where it cannot be built (no compiler), the pure-Python parsers do the same work,
slower. The project's own tests fail when it is missing, so CI proves it is built and used.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "stream_app.coverage._linescan",
            sources=["stream_app/coverage/_linescan.c"],
            extra_compile_args=["-Wall", "-Wextra", "-O2"],
            optional=True,
        )
    ]
)
