"""Worker processes killed with SIGKILL or scaled out lose nothing and apply nothing twice."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.ops.topics import create_topics
from stream_app.settings import Settings
from stream_app.tasks import group_for, topic_for
from tests.support.kafka import group_members, produce_raw, unique, wait_until
from tests.support.probe import TASK
from tests.support.processes import start_probe_worker, stop
from tests.support.records import raw

pytestmark = [pytest.mark.kafka, pytest.mark.db]


async def scalar(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def at_least(engine: AsyncEngine, sql: str, n: int) -> bool:
    return await scalar(engine, sql) >= n


async def test_sigkill_mid_burst_loses_nothing_and_applies_nothing_twice(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    n = 1000
    topic = topic_for(TASK, settings.topic_prefix)
    await produce_raw(
        settings.kafka_bootstrap,
        topic,
        [raw({"repoid": i}) for i in range(n)],
        keys=[b"%d" % (i % 50) for i in range(n)],
    )
    log = tmp_path / "worker.log"
    first = start_probe_worker(settings, log, PROBE_SLEEP="0.01")
    try:
        await wait_until(lambda: at_least(engine, "SELECT count(*) FROM probe_runs", 150), timeout=60, what="a start")
    finally:
        stop(first, signal.SIGKILL)
    killed_at = await scalar(engine, "SELECT count(*) FROM probe_runs")
    assert killed_at < n, "the burst finished before the kill: make the probe slower"

    second = start_probe_worker(settings, log)
    try:
        await wait_until(
            lambda: at_least(engine, "SELECT count(*) FROM processed_records", n), timeout=90, what="all records"
        )
    finally:
        assert stop(second) == 0, log.read_text()[-3000:]
    assert await scalar(engine, "SELECT count(*) FROM probe_runs") == n
    assert await scalar(engine, "SELECT count(DISTINCT record_id) FROM probe_runs") == n


async def test_two_workers_share_partitions_and_one_stopping_hands_over(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    s = settings.model_copy(update={"topic_prefix": unique("s") + ".", "partitions": 8})
    await create_topics(s, tasks=[TASK])
    topic = topic_for(TASK, s.topic_prefix)
    log = tmp_path / "workers.log"
    a = start_probe_worker(s, log, PROBE_WORKER="a", PROBE_SLEEP="0.1")
    b = start_probe_worker(s, log, PROBE_WORKER="b", PROBE_SLEEP="0.1")
    try:
        group = group_for(TASK, s.group_id)

        async def two_members() -> bool:
            return await group_members(s.kafka_bootstrap, group) == 2

        await wait_until(two_members, timeout=60, what="two members in the group")
        n = 600  # 16 keys: about 4 s of work per worker, so the stop lands mid-stream
        await produce_raw(
            s.kafka_bootstrap, topic, [raw({"repoid": i}) for i in range(n)], keys=[b"%d" % (i % 16) for i in range(n)]
        )
        both = "SELECT count(DISTINCT worker) FROM probe_runs"
        await wait_until(lambda: at_least(engine, both, 2), timeout=60, what="both workers busy")
        assert stop(a) == 0  # a clean stop mid-stream: b takes over a's partitions
        assert await scalar(engine, "SELECT count(*) FROM probe_runs") < n, "stopped too late to test a hand-over"
        await wait_until(
            lambda: at_least(engine, "SELECT count(*) FROM processed_records", n), timeout=90, what="all records"
        )
    finally:
        stop(a, signal.SIGKILL)
        assert stop(b) == 0, log.read_text()[-3000:]
    assert await scalar(engine, "SELECT count(*) FROM probe_runs") == n
    assert await scalar(engine, "SELECT count(DISTINCT record_id) FROM probe_runs") == n
    assert await scalar(engine, "SELECT count(*) FROM probe_runs WHERE worker = 'b'") > 0
