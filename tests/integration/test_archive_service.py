"""MigrateToArchive's service against real PostgreSQL and a local archive directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stream_app.models import Commit
from stream_app.services.archive import migrate_to_archive
from stream_app.storage import LocalStorage
from stream_app.storage.paths import commit_report_path
from tests.factories import create_commit, create_owner, create_repo

pytestmark = pytest.mark.db


class Crash(Exception):
    pass


def _report(n: int) -> dict[str, Any]:
    return {"files": {f"src/f{n}.py": [0, [0, 10, 8, 2, 0, "80.00000"]]}, "sessions": {"0": {"n": n}}}


async def _seed_repo(
    session_factory: async_sessionmaker[AsyncSession], *, with_report: int, without_report: int = 0
) -> tuple[int, list[str]]:
    """A repo with commits holding reports (and some without); returns repoid and report commitids."""
    async with session_factory.begin() as s:
        repoid = await create_repo(s, ownerid=await create_owner(s))
        for _ in range(without_report):
            await create_commit(s, repoid=repoid)
        ids = [await create_commit(s, repoid=repoid, report=_report(n)) for n in range(with_report)]
        commitids = await s.scalars(select(Commit.commitid).where(Commit.id.in_(ids)).order_by(Commit.id))
        return repoid, list(commitids)


async def _reports_left(session_factory: async_sessionmaker[AsyncSession], repoid: int) -> int:
    async with session_factory() as s:
        query = select(func.count()).select_from(Commit).where(Commit.repoid == repoid, Commit.report.is_not(None))
        return int(await s.scalar(query) or 0)


@pytest.fixture
def batch_selects(engine: AsyncEngine) -> Iterator[list[str]]:
    """The batch SELECTs the service runs (they are the statements with LIMIT ... FOR UPDATE)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "LIMIT" in statement and "FOR UPDATE" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_migrate_to_archive_moves_one_commits_report(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a repo whose two commits hold their reports in the database
    repoid, [first, second] = await _seed_repo(session_factory, with_report=2)

    # When the first commit is migrated
    async with session_factory.begin() as s:
        result = await migrate_to_archive(s, storage, repoid=repoid, commitid=first)

    # Then its report is in storage, as the same JSON, and its column is SQL NULL
    assert result == {"migrated": 1, "skipped": 0}
    assert json.loads(await storage.read(commit_report_path(repoid, first))) == _report(0)
    assert not await storage.exists(commit_report_path(repoid, second))
    async with session_factory() as s:
        reports: dict[str, Any] = dict(
            (await s.execute(select(Commit.commitid, Commit.report).where(Commit.repoid == repoid))).all()
        )
    assert reports == {first: None, second: _report(1)}


async def test_migrate_to_archive_moves_every_commit_in_batches(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage, batch_selects: list[str]
) -> None:
    # Given 250 commits with reports and 3 without
    repoid, commitids = await _seed_repo(session_factory, with_report=250, without_report=3)

    # When the whole repo is migrated
    async with session_factory.begin() as s:
        result = await migrate_to_archive(s, storage, repoid=repoid, commitid=None)

    # Then all reports moved, 100 at a time (3 full or partial batches and the empty last one)
    assert result == {"migrated": 250, "skipped": 3}
    assert len(batch_selects) == 4
    assert await _reports_left(session_factory, repoid) == 0
    for n, commitid in enumerate(commitids):
        assert json.loads(await storage.read(commit_report_path(repoid, commitid))) == _report(n)


async def test_migrate_to_archive_leaves_other_repos_untouched(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    repoid, _ = await _seed_repo(session_factory, with_report=2)
    other, other_commitids = await _seed_repo(session_factory, with_report=2)

    async with session_factory.begin() as s:
        await migrate_to_archive(s, storage, repoid=repoid, commitid=None)

    assert await _reports_left(session_factory, other) == 2
    assert not any([await storage.exists(commit_report_path(other, c)) for c in other_commitids])


async def test_migrate_to_archive_reports_a_missing_repo_or_commit(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    repoid, _ = await _seed_repo(session_factory, with_report=1)

    async with session_factory.begin() as s:
        missing_repo = await migrate_to_archive(s, storage, repoid=404, commitid=None)
        missing_commit = await migrate_to_archive(s, storage, repoid=repoid, commitid="f" * 40)

    assert missing_repo == {"reason": "repo_not_found"}
    assert missing_commit == {"reason": "commit_not_found"}


async def test_migrate_to_archive_twice_is_a_no_op(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a repo migrated once
    repoid, commitids = await _seed_repo(session_factory, with_report=3, without_report=1)
    async with session_factory.begin() as s:
        await migrate_to_archive(s, storage, repoid=repoid, commitid=None)

    # When it is migrated again, whole and one commit alone
    async with session_factory.begin() as s:
        whole = await migrate_to_archive(s, storage, repoid=repoid, commitid=None)
        one = await migrate_to_archive(s, storage, repoid=repoid, commitid=commitids[0])

    # Then every commit is skipped and the archived reports are unchanged
    assert whole == {"migrated": 0, "skipped": 4}
    assert one == {"migrated": 0, "skipped": 1}
    assert json.loads(await storage.read(commit_report_path(repoid, commitids[0]))) == _report(0)


async def test_migrate_to_archive_finishes_after_a_rollback_that_followed_the_writes(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a migration whose transaction rolled back after the files were written
    repoid, commitids = await _seed_repo(session_factory, with_report=120)
    with pytest.raises(Crash):
        async with session_factory.begin() as s:
            await migrate_to_archive(s, storage, repoid=repoid, commitid=None)
            raise Crash
    assert await _reports_left(session_factory, repoid) == 120
    assert await storage.exists(commit_report_path(repoid, commitids[-1]))

    # When it runs again
    async with session_factory.begin() as s:
        result = await migrate_to_archive(s, storage, repoid=repoid, commitid=None)

    # Then every report is migrated once more and the files hold the same JSON
    assert result == {"migrated": 120, "skipped": 0}
    assert await _reports_left(session_factory, repoid) == 0
    assert json.loads(await storage.read(commit_report_path(repoid, commitids[7]))) == _report(7)


async def test_migrate_to_archive_skips_a_json_null_report(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    async with session_factory.begin() as s:
        repoid = await create_repo(s, ownerid=await create_owner(s))
        commit_id = await create_commit(s, repoid=repoid, report=None)  # stored as JSON 'null'
        commitid = await s.scalar(select(Commit.commitid).where(Commit.id == commit_id))
        assert await s.scalar(select(func.jsonb_typeof(Commit.report)).where(Commit.id == commit_id)) == "null"

    async with session_factory.begin() as s:
        result = await migrate_to_archive(s, storage, repoid=repoid, commitid=commitid)

    assert result == {"migrated": 0, "skipped": 1}
    assert not await storage.exists(commit_report_path(repoid, str(commitid)))
