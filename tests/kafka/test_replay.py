"""`stream-app replay` on the real broker and database: offsets, ledger, and a real re-run."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.ops.kafka_admin import OpsError
from stream_app.ops.replay import ResetSpec, replay
from stream_app.settings import Settings
from stream_app.tasks import group_for, topic_for
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import wait_until
from tests.support.probe import TASK

pytestmark = [pytest.mark.kafka, pytest.mark.db]

STREAM_APP = str(Path(sys.executable).parent / "stream-app")


def record(repoid: int) -> bytes:
    body = {"task": TASK, "version": 1, "id": str(uuid.uuid4()), "created_at": "2026-11-29T05:00:00Z"}
    return json.dumps({**body, "args": {"repoid": repoid}}).encode()


async def produce_to(settings: Settings, counts: dict[int, int]) -> None:
    """counts[p] records into partition p, so per-partition offsets are known."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        topic = topic_for(TASK, settings.topic_prefix)
        sends = [await producer.send(topic, record(p), partition=p) for p, n in counts.items() for _ in range(n)]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def group_offsets(settings: Settings) -> dict[int, int]:
    """The official view: what kafka-consumer-groups --describe would show."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_for(TASK, settings.group_id))
        return {tp.partition: om.offset for tp, om in offsets.items() if om.offset >= 0}
    finally:
        await admin.close()


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def process_all(settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory, n: int) -> None:
    """Run a worker until `n` more handler runs happened and every offset is committed, then stop it."""
    runs = await count(engine, "probe_runs")
    async with run_worker():
        await wait_until(lambda: _is(count(engine, "probe_runs"), runs + n), what=f"{runs + n} probe runs")
        await wait_until(lambda: _is(_total(group_offsets(settings)), n), what=f"{n} offsets committed")


SPREAD = {0: 3, 1: 3, 2: 3, 3: 3}


async def test_replay_refuses_while_the_worker_runs(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    await produce_to(settings, {0: 1, 1: 1})
    async with run_worker():
        await wait_until(lambda: _is(count(engine, "probe_runs"), 2), what="2 probe runs")
        with pytest.raises(OpsError, match=r"has 1 active member\(s\): stop its workers"):
            await replay(settings, "flush_repo", ResetSpec("earliest"))
        assert await count(engine, "processed_records") == 2  # refused before touching the ledger


async def test_a_worker_joining_after_the_check_makes_the_commit_fail_cleanly(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await produce_to(settings, {0: 1})

    async def no_members(*_: object) -> int:
        return 0  # as if the worker joined just after the check

    monkeypatch.setattr("stream_app.ops.replay.active_members", no_members)
    async with run_worker():
        await wait_until(lambda: _is(count(engine, "probe_runs"), 1), what="1 probe run")
        await wait_until(lambda: _is(_total(group_offsets(settings)), 1), what="1 offset committed")
        with pytest.raises(OpsError, match=r"joined consumer group .* during the replay: offsets unchanged"):
            await replay(settings, TASK, ResetSpec("earliest"))
    assert await group_offsets(settings) == {0: 1}


async def test_replay_to_earliest_runs_every_record_again(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    await produce_to(settings, SPREAD)
    await process_all(settings, engine, run_worker, 12)

    report = await replay(settings, TASK, ResetSpec("earliest"))

    assert [(r.partition, r.old, r.new) for r in report.resets] == [(p, 3, 0) for p in range(4)]
    assert report.forgotten == 12
    assert report.lines()[-1] == f"12 ledger rows forgotten; offsets of group {report.group} committed"
    assert await group_offsets(settings) == {0: 0, 1: 0, 2: 0, 3: 0}
    assert await count(engine, "processed_records") == 0
    await process_all(settings, engine, run_worker, 12)
    assert await count(engine, "probe_runs") == 24
    assert await count(engine, "processed_records") == 12


async def test_dry_run_changes_nothing(settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory) -> None:
    await produce_to(settings, SPREAD)
    await process_all(settings, engine, run_worker, 12)

    report = await replay(settings, "flush_repo", ResetSpec("shift", -1), dry_run=True)

    assert [(r.old, r.new) for r in report.resets] == [(3, 2)] * 4
    assert report.lines()[-1] == "dry run: 4 ledger rows would be forgotten; nothing changed"
    assert await group_offsets(settings) == {0: 3, 1: 3, 2: 3, 3: 3}
    assert await count(engine, "processed_records") == 12


async def test_to_offset_and_shift_by_give_kafka_consumer_groups_offsets(settings: Settings) -> None:
    await produce_to(settings, {0: 3, 1: 4, 2: 5, 3: 6})

    async def reset(spec: ResetSpec) -> dict[int, int]:
        report = await replay(settings, "flush_repo", spec)
        assert {r.partition: r.new for r in report.resets} == await group_offsets(settings)
        return await group_offsets(settings)

    assert await reset(ResetSpec("shift", 1)) == {0: 1, 1: 1, 2: 1, 3: 1}  # nothing committed: from begin
    assert await reset(ResetSpec("offset", 4)) == {0: 3, 1: 4, 2: 4, 3: 4}  # clamped to the end
    assert await reset(ResetSpec("shift", -2)) == {0: 1, 1: 2, 2: 2, 3: 2}
    assert await reset(ResetSpec("shift", 100)) == {0: 3, 1: 4, 2: 5, 3: 6}
    assert await reset(ResetSpec("offset", -5)) == {0: 0, 1: 0, 2: 0, 3: 0}


async def test_to_datetime_finds_the_first_record_at_or_after_it(settings: Settings) -> None:
    await produce_to(settings, {p: 2 for p in range(4)})
    await asyncio.sleep(0.05)
    cut = int(datetime.now(UTC).timestamp() * 1000)
    await asyncio.sleep(0.05)
    await produce_to(settings, {p: 1 for p in range(4)})

    await replay(settings, "flush_repo", ResetSpec("datetime", cut))
    assert await group_offsets(settings) == {p: 2 for p in range(4)}
    await replay(settings, "flush_repo", ResetSpec("datetime", cut + 3_600_000))  # nothing that late: end
    assert await group_offsets(settings) == {p: 3 for p in range(4)}


async def test_cli_replay(settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory) -> None:
    await produce_to(settings, {0: 1, 1: 1})
    await process_all(settings, engine, run_worker, 2)

    code, out, err = await cli(settings, "replay", "flush_repo", "--to-earliest")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["partition", "old", "new", "end", "forgotten"]
    assert [line.split() for line in lines[1:5]] == [
        ["0", "1", "0", "1", "1"],
        ["1", "1", "0", "1", "1"],
        ["2", "-", "0", "0", "0"],
        ["3", "-", "0", "0", "0"],
    ]
    assert lines[-1].startswith("2 ledger rows forgotten")
    assert await group_offsets(settings) == {0: 0, 1: 0, 2: 0, 3: 0}


async def test_cli_replay_refusal_is_one_line(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    await produce_to(settings, {0: 1})
    async with run_worker():
        await wait_until(lambda: _is(count(engine, "probe_runs"), 1), what="1 probe run")
        code, out, err = await cli(settings, "replay", TASK, "--to-offset", "0")
    assert (code, out) == (1, "")
    group = group_for(TASK, settings.group_id)
    assert err == f"error: consumer group {group} has 1 active member(s): stop its workers before a replay\n"


async def cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "STREAM_APP_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "STREAM_APP_DATABASE_URL": settings.database_url,
        "STREAM_APP_TOPIC_PREFIX": settings.topic_prefix,
        "STREAM_APP_GROUP_ID": settings.group_id,
        "STREAM_APP_PARTITIONS": str(settings.partitions),
    }
    proc = await asyncio.create_subprocess_exec(
        STREAM_APP, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def _total(offsets: Awaitable[dict[int, int]]) -> int:
    return sum((await offsets).values())


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
