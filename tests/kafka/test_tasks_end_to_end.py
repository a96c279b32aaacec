"""The built tasks end to end: the project's producer -> Kafka -> agent -> PostgreSQL + storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stream_app.agents import HANDLERS
from stream_app.client import TaskProducer, build_record
from stream_app.models import Commit, Owner, ProcessedRecord, Repo
from stream_app.ops.topics import create_topics
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.storage.paths import commit_report_path
from stream_app.tasks import group_for, topic_for
from tests.factories import count_coverage_rows, create_commit, create_owner, create_repo, seed_repo_coverage
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import committed_offsets, produce_raw, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.db]


@pytest.fixture
async def task_settings(settings: Settings) -> Settings:
    await create_topics(settings, tasks=list(HANDLERS))
    return settings


@pytest.fixture
def archive(settings: Settings) -> LocalStorage:
    return LocalStorage(Path(settings.storage_url.removeprefix("file://")))


async def send(settings: Settings, task: str, **args: Any) -> str:
    async with TaskProducer(settings.kafka_bootstrap, topic_prefix=settings.topic_prefix) as producer:
        return await producer.send(task, **args)


async def result_of(sessions: async_sessionmaker[AsyncSession], record_id: str) -> dict[str, Any]:
    async def done() -> bool:
        async with sessions() as s:
            return await s.get(ProcessedRecord, record_id) is not None

    await wait_until(done, what=f"record {record_id} processed")
    async with sessions() as s:
        row = await s.get(ProcessedRecord, record_id)
        assert row is not None
        assert row.result is not None
        return dict(row.result)


async def test_flush_repo_end_to_end(
    task_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    archive: LocalStorage,
    run_worker: WorkerFactory,
) -> None:
    async with session_factory.begin() as s:
        repoid = await create_repo(s, ownerid=await create_owner(s), yaml={"x": 1})
        seeded = await seed_repo_coverage(s, archive, repoid=repoid)
    async with run_worker(HANDLERS):
        rid = await send(task_settings, "flush_repo", repoid=repoid)
        result = await result_of(session_factory, rid)
    assert result["deleted"]["commits"] == 3
    assert result["deleted"]["files"] == len(seeded.files)
    async with session_factory() as s:
        assert set((await count_coverage_rows(s, repoid=repoid)).values()) == {0}
        repo = await s.get(Repo, repoid)
        assert repo is not None and repo.yaml is None
    assert not [p for p in seeded.files if await archive.exists(p)]


async def test_delete_owner_end_to_end(
    task_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    archive: LocalStorage,
    run_worker: WorkerFactory,
) -> None:
    async with session_factory.begin() as s:
        ownerid = await create_owner(s)
        org = await create_owner(s, organizations=None)
        member = await create_owner(s, organizations=[ownerid, org])
        repoid = await create_repo(s, ownerid=ownerid)
        await seed_repo_coverage(s, archive, repoid=repoid)
    async with run_worker(HANDLERS):
        rid = await send(task_settings, "app.tasks.delete_owner.DeleteOwner", ownerid=ownerid)
        result = await result_of(session_factory, rid)
    assert result["deleted"]["owners"] == 1 and result["deleted"]["repos"] == 1
    async with session_factory() as s:
        assert await s.get(Owner, ownerid) is None
        kept = await s.get(Owner, member)
        assert kept is not None and kept.organizations == [org]


async def test_migrate_to_archive_end_to_end_and_redelivery_is_a_no_op(
    task_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    archive: LocalStorage,
    engine: AsyncEngine,
    run_worker: WorkerFactory,
) -> None:
    async with session_factory.begin() as s:
        repoid = await create_repo(s, ownerid=await create_owner(s))
        for n in range(5):
            await create_commit(s, repoid=repoid, report={"files": {"a.py": [n]}})
    # the same record delivered twice (a crash before the offset commit, or a replay)
    name, rid, key, value = build_record("archive_migrate", {"repoid": repoid, "commitid": None})
    topic = topic_for(name, task_settings.topic_prefix)
    await produce_raw(task_settings.kafka_bootstrap, topic, [value, value], keys=[key.encode()] * 2 if key else None)
    async with run_worker(HANDLERS):
        assert await result_of(session_factory, rid) == {"migrated": 5, "skipped": 0}
        await wait_until(lambda: _committed(task_settings, 2), what="both deliveries handled and committed")
    async with session_factory() as s:
        commits = (await s.scalars(select(Commit).where(Commit.repoid == repoid))).all()
    assert all(c.report is None for c in commits)
    for c in commits:
        assert await archive.exists(commit_report_path(repoid, c.commitid))
    async with engine.connect() as conn:
        ledger_rows = (await conn.execute(text("SELECT count(*) FROM processed_records"))).scalar_one()
    assert ledger_rows == 1


async def _committed(settings: Settings, n: int) -> bool:
    group = group_for("app.tasks.archive.MigrateToArchive", settings.group_id)
    return sum((await committed_offsets(settings.kafka_bootstrap, group)).values()) == n
