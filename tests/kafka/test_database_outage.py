"""PostgreSQL stopped mid-stream: processing pauses, no offset moves, nothing is dead-lettered,
and work resumes by itself when the server is back. Uses its own PostgreSQL server (started by
scripts/pg-local.sh on a free port), since stopping the shared one would stop the test suite."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Awaitable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from stream_app.dbmigrate import upgrade
from stream_app.settings import Settings
from stream_app.tasks import dlq_topic_for, group_for, topic_for
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import committed_offsets, produce_raw, read_all, wait_until
from tests.support.probe import PROBE_DDL, TASK
from tests.support.records import raw

pytestmark = [pytest.mark.kafka, pytest.mark.db]
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "pg-local.sh"
OUTAGE_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(action: str, port: int) -> None:
    subprocess.run(["bash", str(SCRIPT), action], env={**os.environ, "PGPORT": str(port)}, check=True)


@pytest.fixture
def own_postgres() -> Iterator[int]:
    port = _free_port()
    _pg("start", port)
    try:
        yield port
    finally:
        _pg("destroy", port)


async def test_postgres_down_for_20s_pauses_and_resumes_without_loss(
    settings: Settings, run_worker: WorkerFactory, own_postgres: int
) -> None:
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{own_postgres}/postgres")
    await admin.execute("CREATE DATABASE outage")
    await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{own_postgres}/outage"
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.execute(text(PROBE_DDL))

    async def applied() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(DISTINCT record_id) FROM probe_runs"))).scalar_one())

    topic = topic_for(TASK, settings.topic_prefix)
    group = group_for(TASK, settings.group_id)
    try:
        async with run_worker(database_url=url):
            await produce_raw(settings.kafka_bootstrap, topic, [raw({"repoid": i}) for i in range(100)])
            await wait_until(lambda: _at_least(applied(), 100), what="first 100 applied")
            await wait_until(lambda: _committed_is(settings, group, 100), what="first 100 committed")

            _pg("stop", own_postgres)
            await produce_raw(settings.kafka_bootstrap, topic, [raw({"repoid": i}) for i in range(100, 200)])
            await asyncio.sleep(OUTAGE_SECONDS)
            assert await _committed_is(settings, group, 100), "an offset moved while PostgreSQL was down"
            _pg("start", own_postgres)

            await wait_until(lambda: _at_least(applied(), 200), timeout=60, what="the rest applied after restart")
            await wait_until(lambda: _committed_is(settings, group, 200), what="all 200 committed")
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM probe_runs"))).scalar_one()
        assert rows == 200  # nothing applied twice
        dead = await read_all(settings.kafka_bootstrap, dlq_topic_for(TASK, settings.topic_prefix), expect=0, timeout=1)
        assert dead == []
    finally:
        await engine.dispose()


async def _at_least(value: Awaitable[int], n: int) -> bool:
    return await value >= n


async def _committed_is(settings: Settings, group: str, n: int) -> bool:
    return sum((await committed_offsets(settings.kafka_bootstrap, group)).values()) == n
