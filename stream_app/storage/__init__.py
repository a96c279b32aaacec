"""Archive storage: where raw uploads and commit reports live (a local directory, or S3 later)."""

from stream_app.storage.base import ArchiveStorage, FileNotInStorage, InvalidStoragePath
from stream_app.storage.factory import open_storage
from stream_app.storage.local import LocalStorage

__all__ = ["ArchiveStorage", "FileNotInStorage", "InvalidStoragePath", "LocalStorage", "open_storage"]
