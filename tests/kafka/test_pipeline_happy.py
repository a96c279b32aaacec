"""A record produced by a plain Kafka client is handled once, committed, then acked."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.settings import Settings
from stream_app.tasks import group_for, topic_for
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import committed_offsets, produce_raw, wait_until
from tests.support.probe import TASK

pytestmark = [pytest.mark.kafka, pytest.mark.db]


def record(repoid: int, record_id: str | None = None) -> bytes:
    body = {
        "task": TASK,
        "version": 1,
        "id": record_id or str(uuid.uuid4()),
        "created_at": "2026-11-29T05:00:00.123456Z",
        "args": {"repoid": repoid},
    }
    return json.dumps(body).encode()


async def count(engine: AsyncEngine, sql: str = "SELECT count(*) FROM probe_runs") -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def committed_total(settings: Settings) -> int:
    return sum((await committed_offsets(settings.kafka_bootstrap, group_for(TASK, settings.group_id))).values())


async def test_record_from_plain_client_is_applied_and_committed(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    await produce_raw(settings.kafka_bootstrap, topic, [record(i) for i in range(20)])

    async with run_worker():
        await wait_until(lambda: _eq(count(engine), 20), what="20 probe rows")

        async def all_committed() -> bool:
            return await committed_total(settings) == 20

        await wait_until(all_committed, what="offsets of all 20 records committed")
    assert await count(engine, "SELECT count(*) FROM processed_records") == 20


async def test_same_record_twice_changes_nothing_the_second_time(
    settings: Settings, engine: AsyncEngine, run_worker: WorkerFactory
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    rid = str(uuid.uuid4())
    await produce_raw(
        settings.kafka_bootstrap, topic, [record(7, rid), record(7, rid), record(8)], keys=[b"7", b"7", b"8"]
    )
    async with run_worker():
        await wait_until(lambda: _eq(count(engine, "SELECT count(*) FROM processed_records"), 2), what="2 ledger rows")
        await wait_until(lambda: _ge(committed_total(settings), 3), what="3 offsets committed")
    assert await count(engine, f"SELECT count(*) FROM probe_runs WHERE record_id = '{rid}'") == 1
    assert await count(engine) == 2


async def _eq(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _ge(value: Awaitable[int], expected: int) -> bool:
    return await value >= expected
