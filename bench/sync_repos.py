"""SyncRepos for one owner with many repos against the fake GitHub with per-request latency.

    .venv/bin/python bench/sync_repos.py [--repos 5000] [--latency-ms 50] [--forks 50] [--kafka]

Needs the local PostgreSQL (127.0.0.1:5432, user postgres); drops and recreates the database
`stream_app_bench_sync_repos`. The fake GitHub runs in a child process, so the memory and CPU
measured are the worker side only. The user sees `--repos` repos (its own and 20 orgs', a third
private, `--forks` of them forks of repos it cannot push to), 100 a page. Each scenario runs the
sync as the worker does, one record per page: the first record goes through the pipeline's
RecordProcessor (ledger, the record's transaction, continuation in the outbox), the real
OutboxRelay publishes the continuation and the next page record runs, until the last page
(tests/fakes/pipeline.py; Kafka itself is left out). Scenarios: a first sync into empty tables,
then an immediate re-sync with no changes.

Columns: wall time; time waiting on the provider (httpx request to body read: the 50 ms latency
plus the fake's own work, about 30 ms a page as it renders the whole list for every page);
time inside database statements and their count, every statement of the chain included (ledger,
outbox, relay; SQLAlchemy before/after_cursor_execute; an executemany counts once; asyncpg may
add a prepare for a statement text it has not cached), and transactions (each is a BEGIN and a
COMMIT round trip more); worker CPU (getrusage of this process); records run; rows inserted,
and pre-existing rows rewritten (xmin changed); the Python heap peak (tracemalloc, from a second
run on fresh tables so the timings are not slowed by it); the process's maximum RSS so far.

`--kafka` adds both scenarios through the real Worker and broker (127.0.0.1:9092, fresh topics
and group): wall time from the first page's handler entry to the last page's handler exit, so
each page also pays the relay's publish and the consumer's fetch. The Worker uses its own httpx
client, so provider waiting is not measured there (shown as nan).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import sys
import time
import tracemalloc
import uuid
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from cryptography.fernet import Fernet
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

import stream_app.agents.sync_repos  # noqa: F401 - registers the handler
from stream_app.agents.registry import HANDLERS
from stream_app.client import TaskProducer, build_record
from stream_app.dbmigrate import upgrade
from stream_app.models import Owner
from stream_app.ops.topics import all_topics, create_topics
from stream_app.pipeline.context import Result, TaskContext
from stream_app.settings import Settings
from stream_app.task_args import SyncReposV1
from stream_app.tokens import encrypt_token
from stream_app.worker import Worker
from tests.fakes.pipeline import RecordLoop

PG = "postgresql://postgres@127.0.0.1:5432"
DB = "stream_app_bench_sync_repos"
DB_URL = f"{PG}/{DB}".replace("postgresql://", "postgresql+asyncpg://")
TOKEN = "gho_bench"
ORGS = 20
SYNC_REPOS = "app.tasks.sync_repos.SyncRepos"


def serve_fake(conn: Connection, repos: int, forks: int, latency: float) -> None:
    """Child process: the fake GitHub with the bench's world; answers 'requests'/'reset'/'stop' on `conn`."""
    asyncio.run(_serve(conn, repos, forks, latency))


async def _serve(conn: Connection, repos: int, forks: int, latency: float) -> None:
    from tests.fakes.github import FakeGitHub

    async with FakeGitHub() as gh:
        user = gh.add_user("bench", token=TOKEN)
        gh.add_user("upstream")
        for n in range(ORGS):
            gh.add_org(f"org{n:02}", members=["bench"])
        fork_indexes = set(random.Random(0).sample(range(repos), forks))
        for i in range(repos):
            owner = "bench" if i % 5 == 0 else f"org{i % ORGS:02}"
            fork_of = None
            if i in fork_indexes:
                fork_of = gh.add_repo(f"upstream/lib{i:05}").full_name
            gh.add_repo(f"{owner}/repo{i:05}", private=i % 3 == 0, language="python", fork_of=fork_of)
        gh.latency = latency
        conn.send((gh.url, str(user.id)))
        loop = asyncio.get_running_loop()
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            if command == "reset":
                gh.requests.clear()
            conn.send(len(gh.requests))
        conn.send(None)


@dataclass
class Measure:
    seconds: float = 0.0
    requests: int = 0
    statements: int = 0
    transactions: int = 0
    kinds: Counter[str] | None = None
    records: int = 0
    db_seconds: float = 0.0
    http_seconds: float = 0.0
    cpu_seconds: float = 0.0
    rewritten: int = 0
    inserted: int = 0
    heap_peak_mb: float = 0.0
    rss_max_mb: float = 0.0


class Counters:
    """Every statement and transaction of every engine in this process (the Worker makes its own)."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.transactions = 0
        self.db_seconds = 0.0
        self.http_seconds = 0.0
        self._started_at = 0.0
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        event.listen(Engine, "begin", self._begin)

    def reset(self) -> None:
        self.kinds.clear()
        self.transactions = 0
        self.db_seconds = self.http_seconds = 0.0

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.kinds[statement.split(None, 1)[0].upper()] += 1
        self._started_at = time.perf_counter()

    def _after(self, *args: Any) -> None:
        self.db_seconds += time.perf_counter() - self._started_at

    def _begin(self, conn: Any) -> None:
        self.transactions += 1

    async def on_request(self, request: httpx.Request) -> None:
        request.extensions["bench_started"] = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        self.http_seconds += time.perf_counter() - response.request.extensions["bench_started"]


class Bench:
    def __init__(self, engine: AsyncEngine, fake: Connection, settings: Settings, ownerid: int) -> None:
        self.engine, self.fake, self.settings, self.ownerid = engine, fake, settings, ownerid
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.counters = Counters()

    def ask(self, command: str) -> Any:
        self.fake.send(command)
        return self.fake.recv()

    async def run(self, http: httpx.AsyncClient, *, trace: bool) -> Measure:
        """One sync, page record after page record through the processor and the relay."""
        loop = RecordLoop(
            task=SYNC_REPOS, handler=HANDLERS[SYNC_REPOS], sessions=self.sessions, settings=self.settings, http=http
        )
        _, _, key, value = build_record(SYNC_REPOS, {"ownerid": self.ownerid})
        loop.send(value, key.encode() if key else None)

        async def chain() -> list[Result]:
            outcomes = await loop.drain()
            assert all(o.kind == "done" and o.result is not None for o in outcomes), outcomes
            return [o.result for o in outcomes if o.result is not None]

        return await self.measure(chain, trace=trace)

    async def measure(self, sync: Any, *, trace: bool) -> Measure:
        versions = await self._versions()
        self.ask("reset")
        self.counters.reset()
        cpu = _cpu_seconds()
        if trace:
            tracemalloc.reset_peak()
        started = time.perf_counter()
        results = await sync()
        seconds = time.perf_counter() - started
        assert results[-1]["continued"] is False and "reason" not in results[-1], results[-1]
        m = Measure(seconds, self.ask("requests"), sum(self.counters.kinds.values()), self.counters.transactions)
        m.kinds, m.records = Counter(self.counters.kinds), len(results)
        m.db_seconds, m.cpu_seconds = self.counters.db_seconds, _cpu_seconds() - cpu
        m.http_seconds = self.counters.http_seconds
        after = await self._versions()
        m.rewritten = sum(1 for key, xmin in after.items() if versions.get(key) not in (None, xmin))
        m.inserted = len(after.keys() - versions.keys())
        m.heap_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
        m.rss_max_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return m

    async def _versions(self) -> dict[tuple[str, int], str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT 'o', ownerid, xmin::text FROM owners UNION ALL SELECT 'r', repoid, xmin::text FROM repos")
            )
            return {(kind, key): xmin for kind, key, xmin in rows}


class KafkaRun:
    """The real Worker on the local broker: the handler notes its first entry and its last exit."""

    def __init__(self, bench: Bench, bootstrap: str) -> None:
        self.bench = bench
        suffix = uuid.uuid4().hex[:8]
        self.settings = bench.settings.model_copy(
            update={"kafka_bootstrap": bootstrap, "topic_prefix": f"bench{suffix}.", "group_id": f"bench{suffix}"}
        )
        self.first_entry = self.last_exit = 0.0
        self.results: list[Result] = []
        self.done = asyncio.Event()

    async def handler(self, ctx: TaskContext, args: SyncReposV1) -> Result:
        if args.cursor is None:
            self.first_entry = time.perf_counter()
        result = await HANDLERS[SYNC_REPOS](ctx, args)
        self.last_exit = time.perf_counter()
        self.results.append(result)
        if result.get("continued") is False:
            self.done.set()
        return result

    async def run(self) -> tuple[Measure, Measure]:
        await create_topics(self.settings, tasks=[SYNC_REPOS])
        worker = Worker(self.settings, {SYNC_REPOS: self.handler}, drain_seconds=5.0)
        await worker.start()
        try:
            return await self._measure(), await self._measure()
        finally:
            await worker.stop()
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
            await admin.start()
            try:
                await admin.delete_topics(all_topics(self.settings.topic_prefix, [SYNC_REPOS]))
            finally:
                await admin.close()

    async def _measure(self) -> Measure:
        m = await self.bench.measure(self.sync, trace=False)
        m.seconds = self.last_exit - self.first_entry  # not the producer's start nor the first fetch
        m.http_seconds = float("nan")  # the Worker's own httpx client has no bench hooks
        return m

    async def sync(self) -> list[Result]:
        self.results, self.done = [], asyncio.Event()
        async with TaskProducer(self.settings.kafka_bootstrap, topic_prefix=self.settings.topic_prefix) as producer:
            await producer.send(SYNC_REPOS, ownerid=self.bench.ownerid)
        await asyncio.wait_for(self.done.wait(), timeout=600)
        return self.results


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def reset_database() -> None:
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DB}")
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, DB_URL)


async def seed_owner(engine: AsyncEngine, service_id: str, key: str) -> int:
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE repos, owners, processed_records, outbox RESTART IDENTITY CASCADE"))
        values = {"service": "github", "service_id": service_id, "username": "bench"}
        statement = insert(Owner).values(**values, oauth_token=encrypt_token(TOKEN, key))
        return int((await conn.execute(statement.returning(Owner.ownerid))).scalar_one())


async def main(args: argparse.Namespace) -> None:
    await reset_database()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    fake = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(child, args.repos, args.forks, args.latency_ms / 1000), daemon=True
    )
    fake.start()
    url, service_id = parent.recv()
    key = Fernet.generate_key().decode()
    settings = Settings(github_api_url=url, encryption_key=key, database_url=DB_URL)
    engine = create_async_engine(DB_URL, pool_size=2)
    rows: list[tuple[str, Measure]] = []
    try:
        bench = Bench(engine, parent, settings, await seed_owner(engine, service_id, key))
        hooks: dict[str, Any] = {"request": [bench.counters.on_request], "response": [bench.counters.on_response]}
        async with httpx.AsyncClient(event_hooks=hooks) as http:
            first, again = await bench.run(http, trace=False), await bench.run(http, trace=False)
            tracemalloc.start()
            bench.ownerid = await seed_owner(engine, service_id, key)
            first.heap_peak_mb = (await bench.run(http, trace=True)).heap_peak_mb
            again.heap_peak_mb = (await bench.run(http, trace=True)).heap_peak_mb
            tracemalloc.stop()
            rows = [("first sync", first), ("re-sync, no changes", again)]
        if args.kafka:
            bench.ownerid = await seed_owner(engine, service_id, key)
            first, again = await KafkaRun(bench, args.bootstrap).run()
            rows += [("first sync, through Kafka", first), ("re-sync, through Kafka", again)]
        parent.send("stop")
        parent.recv()
    finally:
        await engine.dispose()
        fake.join(timeout=5)
    report(args, rows)


def report(args: argparse.Namespace, rows: list[tuple[str, Measure]]) -> None:
    print(f"\nSyncRepos: {args.repos} repos ({args.forks} forks), 100 a page, {args.latency_ms} ms per request\n")
    columns = ["wall s", "waiting on provider s", "in DB s", "worker CPU s", "provider requests", "records"]
    columns += ["DB statements", "transactions", "rows inserted", "rows rewritten", "heap peak MB"]
    print("| scenario | " + " | ".join(columns) + " | max RSS MB |")
    print("|---|" + "---:|" * (len(columns) + 1))
    for name, m in rows:
        cells = [f"{m.seconds:.2f}", f"{m.http_seconds:.2f}", f"{m.db_seconds:.2f}", f"{m.cpu_seconds:.2f}", m.requests]
        cells += [m.records, m.statements, m.transactions, m.inserted, m.rewritten]
        cells += [f"{m.heap_peak_mb:.1f}" if m.heap_peak_mb else "-", f"{m.rss_max_mb:.0f}"]
        print(f"| {name} | " + " | ".join(str(cell) for cell in cells) + " |")
    print()
    for name, m in rows:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted((m.kinds or Counter()).items()))
        print(f"{name}: {kinds}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=5000)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--kafka", action="store_true", help="also run both scenarios through the Worker and broker")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    asyncio.run(main(parser.parse_args()))
