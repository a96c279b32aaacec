"""Archive storage in an S3 bucket (or anything that speaks S3: MinIO, Ceph, moto).

Endpoint, region and credentials come from botocore's normal resolution (AWS_ENDPOINT_URL,
AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles):
this module adds no settings of its own.

The client is created on first use, so `open_storage` works without an explicit start. It is
bound to the event loop that created it; whoever owns the storage calls `aclose()` on shutdown
(the worker: `if hasattr(storage, "aclose"): await storage.aclose()`).
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

from aiobotocore.session import get_session
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from stream_app.storage.base import FileNotInStorage, InvalidStoragePath

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_CHUNK = 1 << 20
_DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


@contextmanager
def _translated() -> Iterator[None]:
    """S3 unreachable (or still failing with 5xx after botocore's own retries) surfaces as the builtin
    ConnectionError, so callers need not know botocore; the pipeline retries the record later."""
    try:
        yield
    except (BotoConnectionError, HTTPClientError) as exc:
        raise ConnectionError(f"S3 unreachable: {exc}") from exc
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise ConnectionError(f"S3 failing: {exc}") from exc
        raise


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _normalise(path: str) -> str:
    """A '/'-separated relative path, '.' for the root; InvalidStoragePath if it is absolute or climbs out."""
    norm = posixpath.normpath(path) if path else "."
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        raise InvalidStoragePath(f"storage path {path!r} leaves the storage root")
    return norm


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client: Any = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    def _key(self, path: str) -> str:
        norm = _normalise(path)
        if norm == ".":
            raise InvalidStoragePath("a storage path names a file, not the storage root")
        return f"{self.prefix}/{norm}" if self.prefix else norm

    def _list_prefix(self, prefix: str) -> str:
        """Directory semantics, as LocalStorage: 'repos/1' covers 'repos/1/x', never 'repos/10/x'."""
        norm = _normalise(prefix)
        parts = [p for p in (self.prefix, "" if norm == "." else norm) if p]
        return "/".join(parts) + "/" if parts else ""

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    stack = AsyncExitStack()
                    self._client = await stack.enter_async_context(get_session().create_client("s3"))
                    self._stack = stack
        return self._client

    async def aclose(self) -> None:
        """Close the client (idempotent); a later call opens a new one."""
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    async def write(self, path: str, data: bytes) -> None:
        key = self._key(path)
        s3 = await self._s3()
        with _translated():
            # One PUT is atomic (readers see the old or the new object) and takes up to 5 GB.
            await s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    async def read(self, path: str) -> bytes:
        key = self._key(path)
        s3 = await self._s3()
        with _translated():
            try:
                response = await s3.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _error_code(exc) in _NOT_FOUND:
                    raise FileNotInStorage(path) from None
                raise
            async with response["Body"] as body:
                chunks = [chunk async for chunk in body.iter_chunks(_CHUNK)]
        return b"".join(chunks)

    async def exists(self, path: str) -> bool:
        key = self._key(path)
        s3 = await self._s3()
        with _translated():
            try:
                await s3.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _error_code(exc) in _NOT_FOUND:
                    return False
                raise
        return True

    async def delete(self, path: str) -> bool:
        # DeleteObject succeeds whether or not the key exists, so ask first. Two concurrent
        # deletes of one key may both answer True; the object is gone either way.
        if not await self.exists(path):
            return False
        s3 = await self._s3()
        with _translated():
            await s3.delete_object(Bucket=self.bucket, Key=self._key(path))
        return True

    async def delete_prefix(self, prefix: str) -> int:
        list_prefix = self._list_prefix(prefix)
        s3 = await self._s3()
        deleted = 0
        with _translated():
            paginator = s3.get_paginator("list_objects_v2")
            # Pages are at most 1000 keys, one DeleteObjects call each; continuation is by key,
            # so deleting a page does not disturb the listing of the next.
            async for page in paginator.paginate(
                Bucket=self.bucket, Prefix=list_prefix, PaginationConfig={"PageSize": _DELETE_BATCH}
            ):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if keys:
                    deleted += await self._delete_batch(s3, keys)
        return deleted

    async def _delete_batch(self, s3: Any, keys: list[dict[str, str]]) -> int:
        response = await s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise OSError(
                f"S3 refused to delete {len(errors)} of {len(keys)} objects in {self.bucket}, "
                f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )
        return len(keys)
