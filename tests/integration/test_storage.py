"""One contract for archive storage, run against a local directory and a real S3 endpoint (moto's server)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiobotocore.session import get_session

from stream_app.storage import ArchiveStorage, FileNotInStorage, LocalStorage, open_storage
from stream_app.storage.s3 import S3Storage
from tests.support.s3 import moto_s3_storage_url, moto_server, new_bucket_url


async def _write_many(storage: ArchiveStorage, paths: list[str], data: bytes = b"x") -> None:
    limit = asyncio.Semaphore(32)

    async def one(path: str) -> None:
        async with limit:
            await storage.write(path, data)

    await asyncio.gather(*(one(p) for p in paths))


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the module (starting and stopping one costs about a second); a bucket per test."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
async def s3_url(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return await new_bucket_url(monkeypatch, moto_endpoint)


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ArchiveStorage]:
    if request.param == "local":
        yield open_storage(f"file://{tmp_path}/archive")
        return
    # moto starts only when an S3 case runs (getfixturevalue), so local cases run without it.
    storage = open_storage(await new_bucket_url(monkeypatch, request.getfixturevalue("moto_endpoint")))
    assert isinstance(storage, S3Storage)
    try:
        yield storage
    finally:
        await storage.aclose()


async def test_written_bytes_read_back_unchanged(store: ArchiveStorage) -> None:
    # Given a small text file and a 5 MB binary one
    big = os.urandom(5 * 1024 * 1024)
    await store.write("repos/1/small.txt", b"hello")
    await store.write("repos/1/big.bin", big)

    # Then both read back byte for byte
    assert await store.read("repos/1/small.txt") == b"hello"
    assert await store.read("repos/1/big.bin") == big


async def test_empty_file_reads_back_empty(store: ArchiveStorage) -> None:
    await store.write("empty", b"")
    assert await store.read("empty") == b""
    assert await store.exists("empty")


async def test_read_of_missing_file_raises_file_not_in_storage(store: ArchiveStorage) -> None:
    with pytest.raises(FileNotInStorage):
        await store.read("repos/1/nope.json")


async def test_exists_only_for_written_files(store: ArchiveStorage) -> None:
    # Given one file
    await store.write("repos/1/reports/abc/report.json", b"{}")

    # Then the file exists, but neither a missing sibling nor its "directory" does
    assert await store.exists("repos/1/reports/abc/report.json")
    assert not await store.exists("repos/1/reports/abc/other.json")
    assert not await store.exists("repos/1/reports/abc")


async def test_delete_twice_answers_true_then_false(store: ArchiveStorage) -> None:
    await store.write("a/b.txt", b"1")

    assert await store.delete("a/b.txt") is True
    assert await store.delete("a/b.txt") is False
    assert not await store.exists("a/b.txt")


async def test_write_overwrites_the_previous_content(store: ArchiveStorage) -> None:
    await store.write("a/b.txt", b"first, and longer")
    await store.write("a/b.txt", b"second")

    assert await store.read("a/b.txt") == b"second"


async def test_delete_prefix_counts_and_leaves_other_prefixes_alone(store: ArchiveStorage) -> None:
    # Given files under repos/1 and under neighbours whose names share its characters
    await _write_many(store, ["repos/1/a", "repos/1/b/c", "repos/1/b/d/e"])
    await _write_many(store, ["repos/10/a", "repos/2/a", "repos/1x"])

    # When repos/1 is deleted (with or without the trailing slash)
    assert await store.delete_prefix("repos/1/") == 3
    assert await store.delete_prefix("repos/1") == 0

    # Then only its files are gone
    assert not await store.exists("repos/1/b/c")
    for kept in ["repos/10/a", "repos/2/a", "repos/1x"]:
        assert await store.exists(kept), kept


async def test_delete_prefix_of_nothing_deletes_nothing(store: ArchiveStorage) -> None:
    assert await store.delete_prefix("repos/404/") == 0


async def test_delete_prefix_over_more_than_a_thousand_files(store: ArchiveStorage) -> None:
    # Given more files than one S3 listing page (and one DeleteObjects call) holds
    await _write_many(store, [f"repos/7/chunks/{i:05d}" for i in range(1100)])
    await store.write("repos/8/keep", b"k")

    # When the prefix is deleted, then every file is counted and gone
    assert await store.delete_prefix("repos/7/") == 1100
    assert not await store.exists("repos/7/chunks/00000")
    assert not await store.exists("repos/7/chunks/01099")
    assert await store.exists("repos/8/keep")


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd"])
async def test_paths_leaving_the_root_are_rejected(store: ArchiveStorage, path: str) -> None:
    with pytest.raises(ValueError, match="leaves the storage root"):
        await store.write(path, b"evil")
    with pytest.raises(ValueError, match="leaves the storage root"):
        await store.read(path)
    with pytest.raises(ValueError, match="leaves the storage root"):
        await store.delete_prefix(path)


async def _bucket_keys(bucket: str) -> list[str]:
    async with get_session().create_client("s3") as s3:
        listing = await s3.list_objects_v2(Bucket=bucket)
        return sorted(obj["Key"] for obj in listing.get("Contents", []))


async def test_s3_keys_live_under_the_url_prefix(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = await new_bucket_url(monkeypatch, moto_endpoint, prefix="some/prefix")
    # Given two storages on one bucket, one under a prefix and one at the bucket root
    prefixed = open_storage(url)
    rooted = open_storage(url.removesuffix("/some/prefix"))
    assert isinstance(prefixed, S3Storage) and isinstance(rooted, S3Storage)
    try:
        # When each writes a file
        await prefixed.write("repos/1/a.json", b"p")
        await rooted.write("repos/1/a.json", b"r")

        # Then the keys are {prefix}/{path}, and each sees only its own
        assert await _bucket_keys(prefixed.bucket) == ["repos/1/a.json", "some/prefix/repos/1/a.json"]
        assert await prefixed.read("repos/1/a.json") == b"p"
        assert await rooted.read("some/prefix/repos/1/a.json") == b"p"

        # And deleting everything under the prefixed storage leaves the rest of the bucket
        assert await prefixed.delete_prefix("") == 1
        assert await _bucket_keys(prefixed.bucket) == ["repos/1/a.json"]
    finally:
        await prefixed.aclose()
        await rooted.aclose()


async def test_s3_storage_can_be_closed_twice_and_reused(s3_url: str) -> None:
    storage = open_storage(s3_url)
    assert isinstance(storage, S3Storage)
    await storage.aclose()  # closing before first use is a no-op
    await storage.write("a", b"1")
    await storage.aclose()
    await storage.aclose()
    assert await storage.read("a") == b"1"  # a new client, opened on demand
    await storage.aclose()


async def test_s3_unreachable_is_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an endpoint nothing listens on (moto stopped), and no botocore retries to wait through
    async with moto_s3_storage_url(monkeypatch) as url:
        pass
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    storage = open_storage(url)
    assert isinstance(storage, S3Storage)
    try:
        # Then callers see the builtin ConnectionError, not a botocore type
        with pytest.raises(ConnectionError):
            await storage.read("a")
    finally:
        await storage.aclose()


def test_open_storage_by_url_scheme(tmp_path: Path) -> None:
    local = open_storage(f"file://{tmp_path}/archive")
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "archive"

    s3 = open_storage("s3://bucket/some/prefix/")
    assert isinstance(s3, S3Storage) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    bare = open_storage("s3://bucket")
    assert isinstance(bare, S3Storage) and (bare.bucket, bare.prefix) == ("bucket", "")

    with pytest.raises(ValueError, match="names no bucket"):
        open_storage("s3:///prefix")
    with pytest.raises(ValueError, match="unsupported storage URL"):
        open_storage("gs://bucket/prefix")
