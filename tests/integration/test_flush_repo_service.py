"""FlushRepo's service against real PostgreSQL and a local archive directory."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Repo
from stream_app.services.repos import flush_repo
from stream_app.storage import LocalStorage
from tests.factories import SeededRepo, count_coverage_rows, create_owner, create_repo, seed_repo_coverage

pytestmark = pytest.mark.db

SEEDED = {"commits": 3, "uploads": 5, "commit_notifications": 1, "branches": 2, "pulls": 1}
NOTHING = {"commits": 0, "uploads": 0, "commit_notifications": 0, "branches": 0, "pulls": 0}


class Crash(Exception):
    pass


async def _seed_repos(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage, count: int
) -> list[SeededRepo]:
    """`count` repos of one owner, each with yaml, cache and coverage data."""
    async with session_factory.begin() as s:
        ownerid = await create_owner(s)
        repoids = [await create_repo(s, ownerid=ownerid, yaml={"codecov": {}}, cache={"k": 1}) for _ in range(count)]
        return [await seed_repo_coverage(s, storage, repoid=repoid) for repoid in repoids]


async def test_flush_repo_deletes_coverage_rows_and_files(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a repo with coverage data, yaml and cache
    [repo] = await _seed_repos(session_factory, storage, 1)

    # When it is flushed
    async with session_factory.begin() as s:
        result = await flush_repo(s, storage, repoid=repo.repoid)

    # Then rows and files are gone, counted exactly, and the repo row is kept with yaml/cache NULL
    assert result == {"repoid": repo.repoid, "deleted": {**SEEDED, "files": 6}}
    async with session_factory() as s:
        assert await count_coverage_rows(s, repoid=repo.repoid) == NOTHING
        row = (await s.execute(select(Repo.repoid, Repo.yaml, Repo.cache).where(Repo.repoid == repo.repoid))).one()
    assert tuple(row) == (repo.repoid, None, None)
    assert [path for path in repo.files if await storage.exists(path)] == []


async def test_flush_repo_leaves_other_repos_untouched(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given two repos with coverage data
    [flushed, other] = await _seed_repos(session_factory, storage, 2)

    # When the first is flushed
    async with session_factory.begin() as s:
        await flush_repo(s, storage, repoid=flushed.repoid)

    # Then the second keeps its rows, files, yaml and cache
    async with session_factory() as s:
        assert await count_coverage_rows(s, repoid=other.repoid) == SEEDED
        row = (await s.execute(select(Repo.yaml, Repo.cache).where(Repo.repoid == other.repoid))).one()
    assert tuple(row) == ({"codecov": {}}, {"k": 1})
    assert all([await storage.exists(path) for path in other.files])


async def test_flush_repo_reports_a_missing_repo(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    async with session_factory.begin() as s:
        result = await flush_repo(s, storage, repoid=404)

    assert result == {"reason": "repo_not_found"}


async def test_flush_repo_twice_is_a_no_op(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a repo flushed once
    [repo] = await _seed_repos(session_factory, storage, 1)
    async with session_factory.begin() as s:
        await flush_repo(s, storage, repoid=repo.repoid)

    # When it is flushed again
    async with session_factory.begin() as s:
        result = await flush_repo(s, storage, repoid=repo.repoid)

    # Then nothing more is deleted
    assert result == {"repoid": repo.repoid, "deleted": {**NOTHING, "files": 0}}


async def test_flush_repo_finishes_after_a_rollback_that_followed_the_file_deletes(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a flush whose transaction rolled back after its files were deleted
    [repo] = await _seed_repos(session_factory, storage, 1)
    with pytest.raises(Crash):
        async with session_factory.begin() as s:
            await flush_repo(s, storage, repoid=repo.repoid)
            raise Crash
    async with session_factory() as s:
        assert await count_coverage_rows(s, repoid=repo.repoid) == SEEDED
    assert [path for path in repo.files if await storage.exists(path)] == []

    # When it runs again
    async with session_factory.begin() as s:
        result = await flush_repo(s, storage, repoid=repo.repoid)

    # Then the rows are deleted too; the files were already gone
    assert result == {"repoid": repo.repoid, "deleted": {**SEEDED, "files": 0}}
    async with session_factory() as s:
        assert await count_coverage_rows(s, repoid=repo.repoid) == NOTHING
