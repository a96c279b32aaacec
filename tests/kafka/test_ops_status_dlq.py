"""`stream-app dlq list/redrive` and `status` on the real broker, after a real worker ran."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.cli import _parser
from stream_app.ops.deadletters import dlq_list, dlq_redrive
from stream_app.ops.status import status
from stream_app.settings import Settings
from stream_app.tasks import dlq_topic_for, topic_for
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import produce_raw, read_all, wait_until
from tests.support.probe import TASK

pytestmark = [pytest.mark.kafka, pytest.mark.db]

NOT_AN_ENVELOPE = json.dumps({"id": "bad-1", "task": TASK, "version": 1}).encode()  # no created_at, no args


def record(repoid: int) -> bytes:
    body = {"task": TASK, "version": 1, "id": str(uuid.uuid4()), "created_at": "2026-11-29T05:00:00Z"}
    return json.dumps({**body, "args": {"repoid": repoid}}).encode()


async def total_size(settings: Settings, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        begin, end = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)
    finally:
        await consumer.stop()


async def dead_letter_two(settings: Settings, run_worker: WorkerFactory) -> None:
    """Two bad records and a good one through a real worker; stop once both are dead letters."""
    topic, dlq = topic_for(TASK, settings.topic_prefix), dlq_topic_for(TASK, settings.topic_prefix)
    await produce_raw(settings.kafka_bootstrap, topic, [b"not json", NOT_AN_ENVELOPE, record(1)], keys=[b"k"] * 3)
    async with run_worker():
        await wait_until(lambda: _is(total_size(settings, dlq), 2), what="2 dead letters")


async def test_dlq_list_shows_each_dead_letter_with_its_reason(
    settings: Settings, run_worker: WorkerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    await dead_letter_two(settings, run_worker)

    letters, total = await dlq_list(settings, "flush_repo")

    assert total == 2
    by_reason = {d.reason: d for d in letters}
    assert set(by_reason) == {"not_json", "invalid_envelope"}
    assert by_reason["not_json"].record_id is None
    assert by_reason["invalid_envelope"].record_id == "bad-1"
    sources = sorted(d.source.split(":") for d in letters)  # one key: both from one partition
    assert [off for _, off in sources] == ["0", "1"] and sources[0][0] == sources[1][0]
    assert len((await dlq_list(settings, TASK, limit=1))[0]) == 1

    ns = _parser().parse_args(["dlq", "list", "flush_repo", "--limit", "5"])
    assert await ns.run(ns, settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["partition", "offset", "record_id", "reason", "source", "detail"]
    assert any("bad-1" in line and "invalid_envelope" in line for line in lines[1:3])
    assert any(line.split()[2:4] == ["-", "not_json"] for line in lines[1:3])
    assert lines[-1] == "2 of 2 dead letters shown"


async def test_dlq_redrive_republishes_each_dead_letter_once(settings: Settings, run_worker: WorkerFactory) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    await dead_letter_two(settings, run_worker)

    assert await dlq_redrive(settings, "flush_repo") == 2
    assert await dlq_redrive(settings, "flush_repo") == 0  # its committed offsets remember the first run

    messages = await read_all(settings.kafka_bootstrap, topic, expect=5)
    values = sorted(m.value for m in messages)
    assert values.count(b"not json") == 2
    assert values.count(NOT_AN_ENVELOPE) == 2
    assert {m.key for m in messages} == {b"k"}  # original keys, unchanged


async def test_dlq_redrive_clears_the_retry_state_so_the_record_gets_all_its_retries(settings: Settings) -> None:
    # Given a record dead-lettered with its retries used up (the worker's retry fields in its bytes)
    body = {"task": TASK, "version": 1, "id": "r-8", "created_at": "2026-11-29T05:00:00Z", "args": {"repoid": 3}}
    exhausted = {**body, "attempt": 8, "not_before": "2026-11-29T05:10:00Z"}
    dlq = dlq_topic_for(TASK, settings.topic_prefix)
    await produce_raw(settings.kafka_bootstrap, dlq, [json.dumps(exhausted).encode()], keys=[b"k"])

    # When it is redriven
    assert await dlq_redrive(settings, "flush_repo") == 1

    # Then the task topic gets the record as first produced: it runs now, with all of its retries
    [message] = await read_all(settings.kafka_bootstrap, topic_for(TASK, settings.topic_prefix), expect=1)
    assert (json.loads(message.value), message.key) == (body, b"k")
    [dead] = await read_all(settings.kafka_bootstrap, dlq, expect=1)
    assert json.loads(dead.value) == exhausted  # the dead letter itself is kept as it was


async def test_status_shows_lag_and_dead_letters(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    await produce_raw(settings.kafka_bootstrap, topic_for(TASK, settings.topic_prefix), [record(i) for i in range(5)])

    rows = {r.task: r for r in await status(settings)}
    assert len(rows) == 19
    row = rows[TASK]
    assert (row.partitions, row.committed, row.end, row.lag, row.dlq) == (4, 0, 5, 5, 0)
    assert all(r.partitions is None and r.dlq is None for t, r in rows.items() if t != TASK)

    await produce_raw(settings.kafka_bootstrap, topic_for(TASK, settings.topic_prefix), [b"not json"])
    async with run_worker():

        async def caught_up() -> bool:
            row = next(r for r in await status(settings) if r.task == TASK)
            return (row.committed, row.lag, row.dlq) == (6, 0, 1)

        await wait_until(caught_up, what="all 6 committed and 1 dead letter")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM probe_runs"))).scalar_one() == 5

    ns = _parser().parse_args(["status"])
    assert await ns.run(ns, settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["task", "partitions", "committed", "end", "lag", "dlq"]
    assert len(lines) == 20 and len({len(line) for line in lines}) == 1  # one aligned table
    assert lines[1].split() == ["sync_teams", "-", "-", "-", "-", "-"]
    flush = next(line.split() for line in lines if line.startswith("flush_repo "))
    assert flush == ["flush_repo", "4", "6", "6", "0", "1"]


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
