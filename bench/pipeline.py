"""Throughput and latency of the stream_app Worker against hand-written aiokafka loops.

    .venv/bin/python bench/pipeline.py [--records N] [--io-records M] [--keys K] [--rate R] [--repeat N]

Needs the local broker (127.0.0.1:9092) and PostgreSQL (127.0.0.1:5432, user postgres); drops
and recreates the database `stream_app_bench`. Per scenario: fresh topic (8 partitions) and group;
a backlog is produced BEFORE the consumer starts (throughput = backlog / time from the first
handler entry to the last work-row timestamp); then records are produced live at --rate for
--live-seconds (latency = send time -> work-row clock_timestamp(), i.e. inside the transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from stream_app.dbmigrate import upgrade
from stream_app.ops.topics import all_topics, create_topics
from stream_app.pipeline.context import Result, TaskContext
from stream_app.settings import Settings
from stream_app.task_args import FlushRepoV1
from stream_app.tasks import group_for, topic_for
from stream_app.worker import Worker

TASK = "app.tasks.flush_repo.FlushRepo"
BOOTSTRAP = "127.0.0.1:9092"
PG = "postgresql://postgres@127.0.0.1:5432"
DB_DSN = f"{PG}/stream_app_bench"
DB_URL = DB_DSN.replace("postgresql://", "postgresql+asyncpg://")
WORK_DDL = """CREATE TABLE bench_work (
    id bigserial PRIMARY KEY, scenario text NOT NULL, record_id text NOT NULL, repoid int NOT NULL,
    started_at float8 NOT NULL, done_at timestamptz NOT NULL DEFAULT clock_timestamp())"""
WORK_SA = "INSERT INTO bench_work (scenario, record_id, repoid, started_at) VALUES (:s, :r, :k, :t)"
WORK_SA_TEXT = text(WORK_SA)  # built once, as a task module would
WORK_PG = "INSERT INTO bench_work (scenario, record_id, repoid, started_at) VALUES ($1, $2, $3, $4)"
CLAIM = """INSERT INTO processed_records (record_id, task, topic, partition, "offset", attempt)
    VALUES ({}, 0) ON CONFLICT (record_id) DO NOTHING RETURNING record_id"""
CLAIM_SA, CLAIM_PG = CLAIM.format(":r, :task, :topic, :p, :o"), CLAIM.format("$1, $2, $3, $4, $5")
# (a0) writes no work row: its records are counted and timed by their ledger rows instead, whose
# `processed_at` is the transaction's start (now()), for first handler entry and row write alike.
LEDGER_COUNT = "SELECT count(*) FROM processed_records WHERE topic = $1 AND result IS NOT NULL"
LEDGER_RESULTS = """SELECT record_id, extract(epoch FROM processed_at)::float8 AS started_at,
    extract(epoch FROM processed_at)::float8 AS done FROM processed_records WHERE topic = $1"""
RESULTS = """SELECT record_id, started_at, extract(epoch FROM done_at)::float8 AS done
    FROM bench_work WHERE scenario = $1"""
Sent = dict[str, float]  # record id -> time.time() just before the producer's send
Stop = Callable[[], Awaitable[None]]
Start = Callable[[Settings], Awaitable[Stop]]
OnPartition = Callable[[list[Any]], Awaitable[None]]


def envelope(repoid: int) -> tuple[str, bytes]:
    rid, now = str(uuid.uuid4()), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    args = {"repoid": repoid, "sent_at": time.time()}
    body = {"task": TASK, "version": 1, "id": rid, "created_at": now, "args": args}
    return rid, json.dumps(body, separators=(",", ":")).encode()


async def produce(topic: str, first: int, count: int, keys: int, sent: Sent, rate: float = 0.0) -> None:
    """`count` records, repoids from `first`, keyed repoid % keys; paced at `rate`/s, else at once."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=0 if rate else 5)
    await producer.start()
    try:
        start, futures = time.monotonic(), []
        for i in range(count):
            if rate:
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            rid, value = envelope(first + i)
            sent[rid] = time.time()
            futures.append(await producer.send(topic, value, key=str((first + i) % keys).encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    while not await check():  # noqa: ASYNC110 - polls PostgreSQL/Kafka; bounded by asyncio.timeout
        await asyncio.sleep(0.05)


@asynccontextmanager
async def kafka_admin() -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def start_worker(s: Settings, sleep: float, driver: bool = False, work: bool = True) -> Stop:
    """stream_app's Worker; the handler's work row is written in the pipeline's transaction,
    through `ctx.session` (as every task does), or with `driver` on that transaction's own
    asyncpg connection, which leaves out SQLAlchemy's cost per statement; or not at all
    (`work=False`: the pipeline's own cost, ledger claim and result included, and nothing else)."""

    async def handler(ctx: TaskContext, args: FlushRepoV1) -> Result:
        started = time.time()
        if sleep:
            await asyncio.sleep(sleep)  # simulated provider I/O
        if not work:
            pass
        elif driver:
            pg = (await (await ctx.session.connection()).get_raw_connection()).driver_connection
            assert pg is not None  # the pipeline's transaction holds a live connection
            await pg.execute(WORK_PG, s.topic_prefix, ctx.record_id, args.repoid, started)
        else:
            params = {"s": s.topic_prefix, "r": ctx.record_id, "k": args.repoid, "t": started}
            await ctx.session.execute(WORK_SA_TEXT, params)
        return {"repoid": args.repoid}

    worker = Worker(s, {TASK: handler}, drain_seconds=5.0)
    await worker.start()
    return worker.stop


def on_asyncpg(pool: asyncpg.Pool, name: str) -> OnPartition:
    async def on_partition(msgs: list[Any]) -> None:
        async with pool.acquire() as c:
            for m in msgs:
                env = json.loads(m.value)
                async with c.transaction():
                    if await c.fetchval(CLAIM_PG, env["id"], env["task"], m.topic, m.partition, m.offset):
                        await c.execute(WORK_PG, name, env["id"], env["args"]["repoid"], time.time())

    return on_partition


def on_sqlalchemy(engine: AsyncEngine, name: str) -> OnPartition:
    async def on_partition(msgs: list[Any]) -> None:
        async with engine.connect() as c:
            for m in msgs:
                env = json.loads(m.value)
                claim = {"r": env["id"], "task": env["task"], "topic": m.topic, "p": m.partition, "o": m.offset}
                async with c.begin():
                    if (await c.execute(text(CLAIM_SA), claim)).first():
                        work = {"s": name, "r": env["id"], "k": env["args"]["repoid"], "t": time.time()}
                        await c.execute(WORK_SA_TEXT, work)

    return on_partition


async def start_loop(s: Settings, driver: str) -> Stop:
    """Hand-written: per message one transaction (ledger row + work row), one connection per
    partition; a getmany batch's partitions run concurrently, in order within each; then commit()."""
    group, name = group_for(TASK, s.group_id), s.topic_prefix
    consumer = AIOKafkaConsumer(
        topic_for(TASK, name), bootstrap_servers=BOOTSTRAP, group_id=group,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )  # fmt: skip
    if driver == "asyncpg":
        pool = await asyncpg.create_pool(DB_DSN, min_size=8, max_size=8)
        on_partition, close = on_asyncpg(pool, name), pool.close
    else:
        engine = create_async_engine(DB_URL, pool_size=8)
        on_partition, close = on_sqlalchemy(engine, name), engine.dispose

    async def consume() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            if batch:
                await asyncio.gather(*(on_partition(msgs) for msgs in batch.values()))
                await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})

    await consumer.start()
    loop = asyncio.create_task(consume())

    async def stop() -> None:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await consumer.stop()
        await close()

    return stop


async def scenario(
    conn: asyncpg.Connection, label: str, n: int, start: Start, ns: argparse.Namespace, by_ledger: bool = False
) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}.{label[1 : label.index(')')]}."
    s = Settings(kafka_bootstrap=BOOTSTRAP, database_url=DB_URL, topic_prefix=prefix, group_id=prefix + "g",
                 partitions=8, storage_url=ns.storage)  # fmt: skip
    await create_topics(s, tasks=[TASK])
    sent: Sent = {}
    await produce(topic_for(TASK, prefix), 0, n, ns.keys, sent)  # the backlog, before any consumer
    backlog, live = set(sent), int(ns.rate * ns.live_seconds)

    async def rows_at_least(k: int) -> bool:
        if by_ledger:
            return bool(await conn.fetchval(LEDGER_COUNT, topic_for(TASK, prefix)) >= k)
        return bool(await conn.fetchval("SELECT count(*) FROM bench_work WHERE scenario = $1", prefix) >= k)

    async def all_committed() -> bool:
        async with kafka_admin() as admin:
            offsets = (await admin.list_consumer_group_offsets(group_for(TASK, s.group_id))).values()
        return bool(sum(o.offset for o in offsets if o.offset > 0) >= n + live)

    t_start, stop = time.time(), None
    try:
        async with asyncio.timeout(ns.timeout):
            stop = await start(s)
            await until(lambda: rows_at_least(1))
            cpu0 = time.process_time()
            await until(lambda: rows_at_least(n))
            cpu = time.process_time() - cpu0
            await produce(topic_for(TASK, prefix), n, live, ns.keys, sent, rate=ns.rate)
            await until(lambda: rows_at_least(n + live))
            await until(all_committed)
    finally:
        if stop is not None:
            await asyncio.wait_for(stop(), 30)
        async with kafka_admin() as admin:
            await admin.delete_topics(all_topics(prefix, [TASK]))
    rows = await conn.fetch(LEDGER_RESULTS, topic_for(TASK, prefix)) if by_ledger else await conn.fetch(RESULTS, prefix)
    first = min(r["started_at"] for r in rows if r["record_id"] in backlog)
    last = max(r["done"] for r in rows if r["record_id"] in backlog)
    lat = sorted((r["done"] - sent[r["record_id"]]) * 1000 for r in rows if r["record_id"] not in backlog)
    return {
        "label": label, "records": n, "rate": n / (last - first), "p50": lat[len(lat) // 2],
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "startup": first - t_start,
        "cpu": cpu / n * 1000, "dupes": len(rows) - len({r["record_id"] for r in rows}),
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # fmt: skip


async def setup_database() -> None:
    admin = await asyncpg.connect(f"{PG}/postgres", timeout=5)
    await admin.execute("DROP DATABASE IF EXISTS stream_app_bench WITH (FORCE)")
    await admin.execute("CREATE DATABASE stream_app_bench")
    await admin.close()
    await asyncio.to_thread(upgrade, DB_URL)  # the worker's own tables, by its migrations
    conn = await asyncpg.connect(DB_DSN)
    await conn.execute(WORK_DDL)
    await conn.close()


def report(rows: list[dict[str, Any]], ns: argparse.Namespace) -> None:
    print(f"\nthroughput: backlog produced before the consumer starts; latency: {ns.rate:g} rec/s live")
    print("| scenario | records | rec/s | p50 ms | p99 ms | CPU ms/rec | startup s | dupes | peak RSS MB* |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(
            f"| {r['label']} | {r['records']} | {r['rate']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['cpu']:.2f} "
            f"| {r['startup']:.1f} | {r['dupes']} | {r['rss']:.0f} |"
        )
    print("* peak RSS of the whole bench process so far (producers, consumers, every scenario before it)")
    if ns.repeat > 1:
        print(f"median of {ns.repeat} rounds (dupes: total of all rounds); rec/s of each round:")
        for r in rows:
            print(f"  {r['label']}: {', '.join(f'{rate:.0f}' for rate in r['rates'])}")
    by = {r["label"][:3]: r["rate"] for r in rows}
    if "(a)" in by and "(b)" in by:
        ratio = by["(a)"] / by["(b)"]
        print(f"target (a) >= 0.7x (b): {ratio:.2f}x -> {'met' if ratio >= 0.7 else 'MISSED'}")
    if "(a2" in by and "(b)" in by:
        print(f"for reference, (a2) without SQLAlchemy's statement cost: {by['(a2'] / by['(b)']:.2f}x (b)")
    if "(a0" in by and "(b)" in by:
        print(f"for reference, (a0) with no task work at all: {by['(a0'] / by['(b)']:.2f}x (b)")
    if "(c)" in by:
        print(f"target (c) >= 100 rec/s per worker: {by['(c)']:.0f} -> {'met' if by['(c)'] >= 100 else 'MISSED'}")


async def main(ns: argparse.Namespace) -> None:
    await setup_database()
    conn, tmp = await asyncpg.connect(DB_DSN), tempfile.TemporaryDirectory(prefix="bench-")
    ns.storage = f"file://{tmp.name}/archive"  # the Worker opens it; these handlers write nothing there
    plan: list[tuple[str, int, Start]] = [
        ("(a) stream_app Worker, 1-row task", ns.records, lambda s: start_worker(s, 0.0)),
        (
            "(a2) stream_app Worker, 1-row task on the raw asyncpg connection",
            ns.records,
            lambda s: start_worker(s, 0.0, driver=True),
        ),
        (
            "(a0) stream_app Worker, handler does no database work",
            ns.records,
            lambda s: start_worker(s, 0.0, work=False),
        ),
        ("(b) aiokafka loop, asyncpg", ns.records, lambda s: start_loop(s, "asyncpg")),
        ("(b2) aiokafka loop, SQLAlchemy Core text", ns.records, lambda s: start_loop(s, "sqlalchemy")),
        ("(c) stream_app Worker, +100 ms I/O", ns.io_records, lambda s: start_worker(s, 0.1)),
    ]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in plan}
    try:
        for round_ in range(1, ns.repeat + 1):  # rounds interleave the scenarios: drift hits all alike
            for label, n, start in plan:
                print(f"round {round_}/{ns.repeat}: running {label} ...", flush=True)
                try:
                    by_ledger = label.startswith("(a0)")  # no work rows: counted by ledger rows
                    runs[label].append(await scenario(conn, label, n, start, ns, by_ledger))
                except TimeoutError:
                    print(f"  {label}: timed out after {ns.timeout:g}s; skipped")
    finally:
        await conn.close()
        tmp.cleanup()
        report([median_run(r) for r in runs.values() if r], ns)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (its own latency and CPU, not a mix of runs)."""
    ordered = sorted(runs, key=lambda r: r["rate"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rates"] = [r["rate"] for r in runs]
    chosen["dupes"] = sum(r["dupes"] for r in runs)  # every round must have none
    return chosen


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=5000, help="backlog size for (a), (b), (b2)")
    p.add_argument("--io-records", type=int, default=2000, help="backlog size for (c)")
    p.add_argument("--keys", type=int, default=1000, help="distinct record keys (repoid %% keys)")
    p.add_argument("--rate", type=float, default=100.0, help="records/s in the latency phase")
    p.add_argument("--live-seconds", type=float, default=4.0)
    p.add_argument("--timeout", type=float, default=180.0, help="per scenario")
    p.add_argument("--repeat", type=int, default=1, help="rounds of all scenarios; the table shows medians")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(p.parse_args()))
