"""Open the storage named by STREAM_APP_STORAGE_URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from stream_app.storage.base import ArchiveStorage
from stream_app.storage.local import LocalStorage


def open_storage(url: str) -> ArchiveStorage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        # file://./x is relative to the working directory; file:///x is absolute.
        return LocalStorage(Path(parsed.netloc + parsed.path))
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path (s3:// comes with the upload pipeline)")
