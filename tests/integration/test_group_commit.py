"""Group commit (pipeline/batching.py) on the real database: light records share a transaction,
slow ones never do, and a failing record neither loses nor double-applies its batch-mates."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stream_app.db import make_engine, make_session_factory
from stream_app.errors import PermanentError
from stream_app.pipeline.context import Delivery, Result, TaskContext
from stream_app.pipeline.outcome import Outcome
from stream_app.pipeline.processing import RecordProcessor
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.task_args import FlushRepoV1
from tests.support.probe import PERMANENT_REPOID, TASK, create_probe_table
from tests.support.records import raw

WARMUP = 16  # HandlerPace's default: runs alone before a task may batch


class Publisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        self.sent.append((topic, value))

    async def publish_each(self, items: Sequence[tuple[str, bytes | None, bytes]]) -> list[Exception | None]:
        raise AssertionError("not used")


def handler(sleep: float = 0.0) -> Any:
    """One probe row per run; returns the id of the transaction it ran in."""

    async def run(ctx: TaskContext, args: FlushRepoV1) -> Result:
        if args.repoid == PERMANENT_REPOID:
            raise PermanentError("repo_archived", "the provider says this repo is archived")
        if sleep:
            await asyncio.sleep(sleep)  # a provider call
        await ctx.session.execute(
            text("INSERT INTO probe_runs (record_id, repoid, attempt) VALUES (:r, :k, :a)"),
            {"r": ctx.record_id, "k": args.repoid, "a": ctx.attempt},
        )
        return {"txid": (await ctx.session.execute(text("SELECT txid_current()"))).scalar_one()}

    return run


def make_processor(
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    publisher: Publisher,
    *,
    sleep: float = 0.0,
    **settings: Any,
) -> RecordProcessor:
    return RecordProcessor(
        task=TASK,
        handler=handler(sleep),
        sessions=sessions,
        storage=LocalStorage(tmp_path),
        publisher=publisher,
        settings=Settings(**settings),
        http=httpx.AsyncClient(),
    )


_offsets = iter(range(1_000_000))


def delivery(repoid: int, *, record_id: str | None = None) -> Delivery:
    value = raw({"repoid": repoid}, id=record_id or str(uuid.uuid4()))
    return Delivery(TASK, 0, next(_offsets), str(repoid).encode(), value)


async def warm_up(processor: RecordProcessor) -> None:
    for i in range(WARMUP):
        assert (await processor.process(delivery(10_000 + i))).kind == "done"


async def run_all(processor: RecordProcessor, deliveries: list[Delivery]) -> list[Outcome]:
    return list(await asyncio.gather(*(processor.process(d) for d in deliveries)))


async def probe_rows(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT record_id, repoid FROM probe_runs WHERE repoid < 10000"))
        return [(r.record_id, r.repoid) for r in rows]


@pytest.fixture
async def probe_table(engine: AsyncEngine) -> None:
    await create_probe_table(engine)


@pytest.mark.db
async def test_light_records_ready_together_share_transactions(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, probe_table: None
) -> None:
    processor = make_processor(session_factory, tmp_path, Publisher())
    await warm_up(processor)
    outcomes = await run_all(processor, [delivery(i) for i in range(40)])

    assert [o.kind for o in outcomes] == ["done"] * 40
    txids = {o.result["txid"] for o in outcomes if o.result}
    assert len(txids) < 40 / 4, "40 light records ready at once should need a few transactions, not 40"
    assert sorted(repoid for _, repoid in await probe_rows(engine)) == list(range(40))
    async with engine.connect() as conn:
        ledger = await conn.execute(text("SELECT record_id, result FROM processed_records"))
        results = {r.record_id: r.result for r in ledger}
    for o in outcomes:  # each record keeps its own ledger row and result
        assert o.record_id is not None and results[o.record_id] == o.result


@pytest.mark.db
async def test_records_waiting_on_the_outside_world_never_batch(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, probe_table: None
) -> None:
    processor = make_processor(session_factory, tmp_path, Publisher(), sleep=0.05)
    await warm_up(processor)
    outcomes = await run_all(processor, [delivery(i) for i in range(20)])

    assert [o.kind for o in outcomes] == ["done"] * 20
    assert len({o.result["txid"] for o in outcomes if o.result}) == 20  # each in its own, overlapping


@pytest.mark.db
async def test_waiting_for_a_pooled_connection_does_not_make_a_slow_task_look_light(
    database_url: str, engine: AsyncEngine, tmp_path: Path, probe_table: None
) -> None:
    small = make_engine(database_url, pool_size=2)  # 20 records queue for 2 (+2) connections
    try:
        processor = make_processor(make_session_factory(small), tmp_path, Publisher(), sleep=0.05)
        await run_all(processor, [delivery(10_000 + i) for i in range(WARMUP)])
        outcomes = await run_all(processor, [delivery(i) for i in range(20)])
    finally:
        await small.dispose()
    assert len({o.result["txid"] for o in outcomes if o.result}) == 20


@pytest.mark.db
async def test_batching_can_be_turned_off(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, probe_table: None
) -> None:
    processor = make_processor(session_factory, tmp_path, Publisher(), batch_max=1)
    await warm_up(processor)
    outcomes = await run_all(processor, [delivery(i) for i in range(20)])
    assert len({o.result["txid"] for o in outcomes if o.result}) == 20


@pytest.mark.db
async def test_a_failing_record_rolls_its_batch_back_and_each_record_runs_alone(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    probe_table: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stream_app.pipeline.batching")
    publisher = Publisher()
    processor = make_processor(session_factory, tmp_path, publisher)
    await warm_up(processor)
    batch = [delivery(i) for i in range(15)] + [delivery(PERMANENT_REPOID)] + [delivery(i) for i in range(15, 30)]
    outcomes = await run_all(processor, batch)

    kinds = [o.kind for o in outcomes]
    assert kinds.count("done") == 30 and kinds[15] == "dead_lettered"
    assert outcomes[15].reason is not None and outcomes[15].reason.startswith("repo_archived")
    assert [topic for topic, _ in publisher.sent] == [TASK + ".dlq"]
    assert any("rolled back" in r.getMessage() for r in caplog.records)  # it did run in a batch first
    rows = await probe_rows(engine)
    assert sorted(repoid for _, repoid in rows) == list(range(30))  # all applied, none twice
    assert len({record_id for record_id, _ in rows}) == 30


@pytest.mark.db
async def test_duplicates_in_and_across_batches_run_once(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, probe_table: None
) -> None:
    processor = make_processor(session_factory, tmp_path, Publisher())
    await warm_up(processor)
    committed = str(uuid.uuid4())
    assert (await processor.process(delivery(1, record_id=committed))).kind == "done"
    twice = str(uuid.uuid4())
    # the same id delivered twice at once (two producers' retries), and a redelivery of a committed one
    burst = [delivery(2, record_id=twice), delivery(3, record_id=twice), delivery(1, record_id=committed)]
    burst += [delivery(i) for i in range(4, 20)]
    outcomes = await run_all(processor, burst)

    assert sorted(o.kind for o in outcomes[:2]) == ["done", "duplicate"]
    assert outcomes[2].kind == "duplicate"
    rows = await probe_rows(engine)
    assert sum(1 for r in rows if r[0] == twice) == 1
    assert sum(1 for r in rows if r[0] == committed) == 1
    assert len(rows) == 1 + 1 + 16
