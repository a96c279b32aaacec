"""Open the storage named by STREAM_APP_STORAGE_URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from stream_app.storage.base import ArchiveStorage
from stream_app.storage.local import LocalStorage
from stream_app.storage.s3 import S3Storage


def open_storage(url: str) -> ArchiveStorage:
    """`file:///path` (or `file://./relative`) or `s3://bucket/optional/prefix`.

    S3's endpoint, region and credentials come from the usual AWS variables. An S3Storage holds a
    client: its owner calls `aclose()` on shutdown (LocalStorage has nothing to close).
    """
    parsed = urlparse(url)
    if parsed.scheme == "file":
        # file://./x is relative to the working directory; file:///x is absolute.
        return LocalStorage(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"storage URL {url!r} names no bucket: use s3://bucket/prefix")
        return S3Storage(parsed.netloc, parsed.path)
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix")
