"""Replay forgets the ledger rows from the new offset to the partition's end, not to the committed
offset: a group with no commits (expired offsets, a renamed STREAM_APP_GROUP_ID) and records that
ran but whose offsets never got committed (a SIGKILL) must run again too."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.ops.kafka_admin import assigned_consumer
from stream_app.ops.replay import ResetSpec, replay
from stream_app.settings import Settings
from stream_app.tasks import group_for, topic_for
from tests.kafka.conftest import WorkerFactory
from tests.kafka.test_replay import SPREAD, _is, _total, count, group_offsets, process_all, produce_to
from tests.support.kafka import unique, wait_until
from tests.support.probe import TASK

pytestmark = [pytest.mark.kafka, pytest.mark.db]


async def test_replay_of_a_group_without_commits_runs_every_record_again(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    await produce_to(settings, SPREAD)
    await process_all(settings, engine, run_worker, 12)
    fresh = settings.model_copy(update={"group_id": unique("g")})  # same topic, a group that never committed

    report = await replay(fresh, TASK, ResetSpec("earliest"))

    assert report.forgotten == 12
    assert [(r.partition, r.old, r.new, r.end, r.forgotten) for r in report.resets] == [
        (p, None, 0, 3, 3) for p in range(4)
    ]
    assert await count(engine, "processed_records") == 0
    async with run_worker(group_id=fresh.group_id):
        await wait_until(lambda: _is(count(engine, "probe_runs"), 24), what="24 probe runs")
        await wait_until(lambda: _is(_total(group_offsets(fresh)), 12), what="12 offsets committed")
    assert await count(engine, "processed_records") == 12


async def test_records_run_but_not_committed_are_forgotten_too(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    await produce_to(settings, SPREAD)
    await process_all(settings, engine, run_worker, 12)
    await commit(settings, {p: 1 for p in range(4)})  # as after a SIGKILL: offsets 1 and 2 ran, uncommitted

    report = await replay(settings, TASK, ResetSpec("shift", -1))

    assert report.forgotten == 12
    assert [(r.old, r.new, r.end, r.forgotten) for r in report.resets] == [(1, 0, 3, 3)] * 4
    await process_all(settings, engine, run_worker, 12)
    assert await count(engine, "probe_runs") == 24


async def test_dry_run_counts_to_the_end_and_changes_nothing(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    await produce_to(settings, SPREAD)
    await process_all(settings, engine, run_worker, 12)
    await commit(settings, {p: 2 for p in range(4)})

    report = await replay(settings, TASK, ResetSpec("offset", 1), dry_run=True)

    assert report.forgotten == 8
    assert report.lines()[-1] == "dry run: 8 ledger rows would be forgotten; nothing changed"
    assert await group_offsets(settings) == {p: 2 for p in range(4)}
    assert await count(engine, "processed_records") == 12


async def commit(settings: Settings, offsets: dict[int, int]) -> None:
    """Commit offsets for the task's group from outside, the way kafka-consumer-groups does."""
    topic = topic_for(TASK, settings.topic_prefix)
    async with assigned_consumer(settings.kafka_bootstrap, [topic], group_id=group_for(TASK, settings.group_id)) as a:
        await a.consumer.commit({TopicPartition(topic, p): off for p, off in offsets.items()})
    await wait_until(lambda: _is(_total(group_offsets(settings)), sum(offsets.values())), what="offsets committed")
