"""A real S3 endpoint for tests: moto's server on a loopback socket, not in-process patching.

The code under test talks HTTP to it exactly as it would to AWS or MinIO, configured only by the
standard AWS variables (set per test with monkeypatch).
"""

from __future__ import annotations

import logging
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer

_AWS_ENV_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION")


@contextmanager
def moto_server() -> Iterator[str]:
    """Moto's S3-compatible server on 127.0.0.1 and a free port (the OS picks it); yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        # moto keeps its state in process-wide backends: drop it so big test objects do not pile up.
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(reset, timeout=5):
            pass
        server.stop()


def use_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Point botocore's normal configuration chain at `endpoint`, isolated from the developer's ~/.aws."""
    for name in _AWS_ENV_CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


async def create_bucket(name: str) -> None:
    """Create `name` at the endpoint the AWS variables point to."""
    async with get_session().create_client("s3") as s3:
        await s3.create_bucket(Bucket=name)


async def new_bucket_url(monkeypatch: pytest.MonkeyPatch, endpoint: str, prefix: str = "archive") -> str:
    """Point the AWS variables at `endpoint` and create a fresh bucket there; returns `s3://<bucket>/<prefix>`."""
    use_endpoint(monkeypatch, endpoint)
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    await create_bucket(bucket)
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


@asynccontextmanager
async def moto_s3_storage_url(monkeypatch: pytest.MonkeyPatch, prefix: str = "archive") -> AsyncIterator[str]:
    """All in one, for a single test: start moto, set the AWS variables, create a bucket, yield its URL."""
    with moto_server() as endpoint:
        yield await new_bucket_url(monkeypatch, endpoint, prefix)
