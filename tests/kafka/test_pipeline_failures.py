"""Bad input ends in the dead-letter topic with a reason; good records behind it flow on."""

from __future__ import annotations

import json
from collections.abc import Awaitable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.settings import Settings
from stream_app.tasks import dlq_topic_for, topic_for
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import produce_raw, read_all, wait_until
from tests.support.probe import TASK
from tests.support.records import raw

pytestmark = [pytest.mark.kafka, pytest.mark.db]

# (bytes, expected error.reason) — every one must end in the dlq, in this order of the partition.
BAD = [
    (b"\xff\xfe not json", "not_json"),
    (b"[1, 2, 3]", "not_an_object"),
    (json.dumps({"task": TASK, "version": 1}).encode(), "invalid_envelope"),
    (raw({"repoid": "seven"}), "invalid_args"),
    (raw({}), "invalid_args"),
    (raw({"repoid": 1}, task="app.tasks.notify.Notify"), "wrong_task"),
    (raw({"repoid": 1}, task="app.tasks.nope.Nope"), "unknown_task"),
    (raw({"repoid": 1}, version=0), "invalid_envelope"),
    (raw({"repoid": 1, "pad": "x" * 100_000}), "too_large"),
    (raw({"repoid": -2}), "repo_archived"),  # the task's own PermanentError
]


async def probe_rows(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT repoid FROM probe_runs ORDER BY id"))).scalars())


async def test_bad_records_are_dead_lettered_with_reasons_and_good_ones_flow_on(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    values = []
    for i, (bad, _) in enumerate(BAD):
        values += [bad, raw({"repoid": 100 + i})]
    # one key: everything on one partition, in this order
    await produce_raw(settings.kafka_bootstrap, topic, values, keys=[b"k"] * len(values))

    async with run_worker(max_record_bytes=65_536):
        await wait_until(lambda: _len_is(probe_rows(engine), len(BAD)), what="every good record applied")
        dead = await read_all(settings.kafka_bootstrap, dlq_topic_for(TASK, settings.topic_prefix), expect=len(BAD))

    assert await probe_rows(engine) == [100 + i for i in range(len(BAD))]
    assert len(dead) == len(BAD)
    for msg, (bad, reason) in zip(sorted(dead, key=lambda m: m.offset), BAD, strict=True):
        headers = {k: v.decode() for k, v in msg.headers}
        assert headers["error.reason"] == reason
        assert headers["error.detail"]
        assert headers["source.topic"] == topic
        assert msg.value == bad  # the original bytes, for redrive


async def test_newer_version_is_retried_then_dead_lettered(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    await produce_raw(settings.kafka_bootstrap, topic, [raw({"repoid": 1}, version=2), raw({"repoid": 2})])
    async with run_worker(newer_version_max_attempts=2, retry_base_seconds=0.1):
        dead = await read_all(settings.kafka_bootstrap, dlq_topic_for(TASK, settings.topic_prefix), expect=1)
        assert await probe_rows(engine) == [2]
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["error.reason"] == "newer_version:retries_exhausted"
    assert json.loads(dead[0].value)["version_waits"] == 2  # it was sent back twice before giving up
    assert json.loads(dead[0].value)["version"] == 2


async def test_transient_failure_is_retried_later_and_then_succeeds(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    # repoid -1 fails with RetryLater until its 2nd attempt; the record behind it must not wait for it
    await produce_raw(settings.kafka_bootstrap, topic, [raw({"repoid": -1}), raw({"repoid": 5})], keys=[b"a", b"a"])
    async with run_worker(retry_base_seconds=1.0):
        await wait_until(lambda: _len_is(probe_rows(engine), 2), what="retried record applied")
    assert await probe_rows(engine) == [5, -1]  # 5 went ahead while -1 waited in the retry store
    async with engine.connect() as conn:
        attempts = (await conn.execute(text("SELECT attempt FROM probe_runs WHERE repoid = -1"))).scalar_one()
        left = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    assert attempts == 2
    assert left == 0


async def test_not_before_in_the_future_is_honoured(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(seconds=3)
    stamp = later.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await produce_raw(settings.kafka_bootstrap, topic, [raw({"repoid": 9}, not_before=stamp)])
    async with run_worker():
        await wait_until(lambda: _len_is(probe_rows(engine), 1), what="deferred record applied", timeout=20)
    async with engine.connect() as conn:
        ran_at = (await conn.execute(text("SELECT at FROM probe_runs"))).scalar_one()
    assert ran_at >= later


async def _len_is(rows: Awaitable[list[int]], n: int) -> bool:
    return len(await rows) == n


async def test_outside_world_connection_error_is_retried_later_not_a_pause(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    await produce_raw(settings.kafka_bootstrap, topic, [raw({"repoid": -3}), raw({"repoid": 6})], keys=[b"a", b"a"])
    async with run_worker(retry_base_seconds=1.0):
        await wait_until(lambda: _len_is(probe_rows(engine), 2), what="both applied")
    assert await probe_rows(engine) == [6, -3]  # 6 did not wait behind the failing record
