"""Every stage of the upload pipeline delivered twice (same record bytes) changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.client import build_record
from stream_app.models import ProcessedRecord
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.storage.paths import commit_report_path
from stream_app.tasks import group_for, topic_for
from tests.kafka.conftest import WorkerFactory
from tests.kafka.test_upload_pipeline import pipeline, pipeline_handlers, wait_for_state  # noqa: F401
from tests.support.kafka import committed_offsets, produce_raw, read_all, wait_until
from tests.support.uploads import (
    FINISHER,
    FOLLOW_UP_TASKS,
    PIPELINE_TASKS,
    PROCESSOR,
    UPLOAD,
    commit_row,
    fixture,
    ledger_results,
    seed_repo,
    sha,
    store_raw,
    upload_states,
)

pytestmark = [pytest.mark.kafka, pytest.mark.db]


async def ledger_size(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(ProcessedRecord)) or 0)


async def all_consumed(settings: Settings, task: str, produced: int) -> None:
    """Wait until `task`'s consumer group has committed past all `produced` records of its topic."""

    async def done() -> bool:
        offsets = await committed_offsets(settings.kafka_bootstrap, group_for(task, settings.group_id))
        return sum(offsets.values()) == produced

    await wait_until(done, timeout=60, what=f"{produced} records of {task} consumed")


async def test_every_stage_delivered_twice_changes_nothing(
    pipeline: Settings,  # noqa: F811
    session_factory: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    run_worker: WorkerFactory,
) -> None:
    # Given an Upload of three uploads, whose record is delivered twice
    seeded = await seed_repo(session_factory)
    names = ["coveragepy/coverage.xml", "coveragepy/coverage_other.xml", "lcov/calc.lcov.info"]
    items = [
        {"upload_id": f"u{n}", "storage_path": await store_raw(storage, seeded.repoid, f"u{n}", fixture(name))}
        for n, name in enumerate(names)
    ]
    _, _, key, value = build_record("upload", {"repoid": seeded.repoid, "commitid": sha(1), "uploads": items})
    topics = {task: topic_for(task, pipeline.topic_prefix) for task in PIPELINE_TASKS}
    await produce_raw(
        pipeline.kafka_bootstrap, topics[UPLOAD], [value, value], keys=[key.encode()] * 2 if key else None
    )

    async with run_worker(pipeline_handlers()):
        await wait_for_state(session_factory, seeded.repoid, sha(1), "complete")
        await all_consumed(pipeline, UPLOAD, 2)
        await all_consumed(pipeline, PROCESSOR, 3)
        await all_consumed(pipeline, FINISHER, 1)
        before = await _snapshot(pipeline, session_factory, storage, seeded.repoid)
        assert before[-1] == (1, 1, 0)  # SetPending and Notify published once; no pull, no Sync

        # When every processor and finisher record is delivered again, and the Upload a third time
        for task, count in ((PROCESSOR, 3), (FINISHER, 1)):
            published = await read_all(pipeline.kafka_bootstrap, topics[task], expect=count)
            assert len(published) == count
            await produce_raw(
                pipeline.kafka_bootstrap, topics[task], [m.value for m in published], keys=[m.key for m in published]
            )
        await produce_raw(pipeline.kafka_bootstrap, topics[UPLOAD], [value], keys=[key.encode()] if key else None)
        await all_consumed(pipeline, UPLOAD, 3)
        await all_consumed(pipeline, PROCESSOR, 6)
        await all_consumed(pipeline, FINISHER, 2)

        # Then nothing changed: no new ledger row, state, totals, report or follow-up
        assert await _snapshot(pipeline, session_factory, storage, seeded.repoid) == before
    assert sum(r["merged"] for r in await ledger_results(session_factory, FINISHER)) == 3
    assert await upload_states(session_factory, seeded.repoid, sha(1)) == {f"u{n}": "merged" for n in range(3)}


async def _snapshot(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], storage: LocalStorage, repoid: int
) -> tuple[int, str, Any, bytes, tuple[int, ...]]:
    commit = await commit_row(sessions, repoid, sha(1))
    follow_ups = []
    for task in FOLLOW_UP_TASKS:
        topic = topic_for(task, settings.topic_prefix)
        follow_ups.append(len(await read_all(settings.kafka_bootstrap, topic, expect=0, timeout=0.5)))
    report = await storage.read(commit_report_path(repoid, sha(1)))
    return await ledger_size(sessions), commit.state, commit.totals, report, tuple(follow_ups)
