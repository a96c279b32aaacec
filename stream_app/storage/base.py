"""The storage interface tasks use. Paths are relative, '/'-separated keys."""

from __future__ import annotations

from typing import Protocol


class FileNotInStorage(Exception):
    pass


class InvalidStoragePath(ValueError):
    """A path no storage can hold: absolute, climbing out of the root with `..`, or the root."""


class ArchiveStorage(Protocol):
    async def write(self, path: str, data: bytes) -> None: ...

    async def read(self, path: str) -> bytes:
        """The file's bytes; raises FileNotInStorage when it is not there (or is a directory),
        InvalidStoragePath for a path that can never name a file."""
        ...

    async def exists(self, path: str) -> bool: ...

    async def delete(self, path: str) -> bool:
        """Delete one file; False when it was already gone (deletes are idempotent)."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every file under `prefix`; returns how many were deleted."""
        ...
