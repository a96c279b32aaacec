"""Archive storage in a local directory (the default: zero setup)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from stream_app.storage.base import FileNotInStorage, InvalidStoragePath


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root and self.root not in path.parents:
            raise InvalidStoragePath(f"storage path {key!r} leaves the storage root")
        return path

    async def write(self, path: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(path), data)

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        # Write then rename: a crash never leaves a half-written file under the real name.
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)

    async def read(self, path: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(path).read_bytes)
        except (FileNotFoundError, IsADirectoryError):  # as S3: no object under that key
            raise FileNotInStorage(path) from None

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._path(path).is_file)

    async def delete(self, path: str) -> bool:
        try:
            await asyncio.to_thread(self._path(path).unlink)
        except FileNotFoundError:
            return False
        return True

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_tree, self._path(prefix))

    @staticmethod
    def _delete_tree(base: Path) -> int:
        if not base.is_dir():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file())
        shutil.rmtree(base, ignore_errors=True)
        return count
