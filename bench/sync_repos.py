"""SyncRepos for one owner with many repos against the fake GitHub with per-request latency.

    .venv/bin/python bench/sync_repos.py [--repos 5000] [--latency-ms 50] [--forks 50]

Needs the local PostgreSQL (127.0.0.1:5432, user postgres); drops and recreates the database
`stream_app_bench_sync_repos`. The fake GitHub runs in a child process, so the memory and CPU
measured are the worker side only. The user sees `--repos` repos (its own and 20 orgs', a third
private, `--forks` of them forks of repos it cannot push to), 100 a page. Each scenario runs the
service in one transaction, as the pipeline does: a first sync into empty tables, then an
immediate re-sync with no changes.

Columns: wall time; time waiting on the provider (httpx request to body read: the 50 ms latency
plus the fake's own work, about 30 ms a page as it renders the whole list for every page);
time inside database statements and their count (SQLAlchemy before/after_cursor_execute; an
executemany counts once; asyncpg may add a prepare for a statement text it has not cached);
worker CPU (getrusage of this process); rows inserted, and pre-existing rows rewritten (xmin
changed); the Python heap peak (tracemalloc, from a second run on fresh tables so the timings
are not slowed by it); the process's maximum RSS so far.
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
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from cryptography.fernet import Fernet
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from stream_app.dbmigrate import upgrade
from stream_app.models import Owner
from stream_app.services.repo_sync import sync_repos
from stream_app.settings import Settings
from stream_app.tokens import encrypt_token

PG = "postgresql://postgres@127.0.0.1:5432"
DB = "stream_app_bench_sync_repos"
DB_URL = f"{PG}/{DB}".replace("postgresql://", "postgresql+asyncpg://")
TOKEN = "gho_bench"
ORGS = 20


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
            conn.send(len(gh.requests) if command == "requests" else gh.requests.clear())
        conn.send(None)


@dataclass
class Measure:
    seconds: float = 0.0
    requests: int = 0
    statements: int = 0
    kinds: Counter[str] | None = None
    db_seconds: float = 0.0
    http_seconds: float = 0.0
    cpu_seconds: float = 0.0
    rewritten: int = 0
    inserted: int = 0
    heap_peak_mb: float = 0.0
    rss_max_mb: float = 0.0


class Bench:
    def __init__(self, engine: AsyncEngine, fake: Connection, settings: Settings, ownerid: int) -> None:
        self.engine, self.fake, self.settings, self.ownerid = engine, fake, settings, ownerid
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.kinds: Counter[str] = Counter()
        self.db_seconds = 0.0
        self.http_seconds = 0.0
        self._started_at = 0.0
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.kinds[statement.split(None, 1)[0].upper()] += 1
        self._started_at = time.perf_counter()

    def _after(self, *args: Any) -> None:
        self.db_seconds += time.perf_counter() - self._started_at

    async def on_request(self, request: httpx.Request) -> None:
        request.extensions["bench_started"] = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        self.http_seconds += time.perf_counter() - response.request.extensions["bench_started"]

    def _ask(self, command: str) -> Any:
        self.fake.send(command)
        return self.fake.recv()

    async def run(self, http: httpx.AsyncClient, *, trace: bool) -> Measure:
        versions = await self._versions()
        self._ask("reset")
        self.kinds.clear()
        self.db_seconds = self.http_seconds = 0.0
        cpu = _cpu_seconds()
        if trace:
            tracemalloc.reset_peak()
        started = time.perf_counter()
        async with self.sessions.begin() as session:  # one transaction, as the pipeline's
            result = await sync_repos(session, ownerid=self.ownerid, http=http, settings=self.settings)
        seconds = time.perf_counter() - started
        assert "repoids" in result, result
        measure = Measure(seconds, self._ask("requests"), sum(self.kinds.values()), Counter(self.kinds))
        measure.db_seconds, measure.cpu_seconds = self.db_seconds, _cpu_seconds() - cpu
        measure.http_seconds = self.http_seconds
        after = await self._versions()
        measure.rewritten = sum(1 for key, xmin in after.items() if versions.get(key) not in (None, xmin))
        measure.inserted = len(after.keys() - versions.keys())
        measure.heap_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
        measure.rss_max_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return measure

    async def _versions(self) -> dict[tuple[str, int], str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT 'o', ownerid, xmin::text FROM owners UNION ALL SELECT 'r', repoid, xmin::text FROM repos")
            )
            return {(kind, key): xmin for kind, key, xmin in rows}


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
        await conn.execute(text("TRUNCATE repos, owners RESTART IDENTITY CASCADE"))
        values = {"service": "github", "service_id": service_id, "username": "bench"}
        statement = Owner.__table__.insert().values(**values, oauth_token=encrypt_token(TOKEN, key))
        return int((await conn.execute(statement.returning(Owner.__table__.c.ownerid))).scalar_one())


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
        hooks: dict[str, Any] = {"request": [bench.on_request], "response": [bench.on_response]}
        async with httpx.AsyncClient(event_hooks=hooks) as http:
            first, again = await bench.run(http, trace=False), await bench.run(http, trace=False)
            tracemalloc.start()
            bench.ownerid = await seed_owner(engine, service_id, key)
            first.heap_peak_mb = (await bench.run(http, trace=True)).heap_peak_mb
            again.heap_peak_mb = (await bench.run(http, trace=True)).heap_peak_mb
            tracemalloc.stop()
            rows = [("first sync", first), ("re-sync, no changes", again)]
        parent.send("stop")
        parent.recv()
    finally:
        await engine.dispose()
        fake.join(timeout=5)
    report(args, rows)


def report(args: argparse.Namespace, rows: list[tuple[str, Measure]]) -> None:
    print(f"\nSyncRepos: {args.repos} repos ({args.forks} forks), 100 a page, {args.latency_ms} ms per request\n")
    columns = ["wall s", "waiting on provider s", "in DB s", "worker CPU s", "provider requests", "DB round trips"]
    columns += ["rows inserted"]
    columns += ["rows rewritten", "heap peak MB"]
    print("| scenario | " + " | ".join(columns) + " | max RSS MB |")
    print("|---|" + "---:|" * (len(columns) + 1))
    for name, m in rows:
        cells = [f"{m.seconds:.2f}", f"{m.http_seconds:.2f}", f"{m.db_seconds:.2f}", f"{m.cpu_seconds:.2f}", m.requests]
        cells += [m.statements]
        cells += [m.inserted, m.rewritten, f"{m.heap_peak_mb:.1f}", f"{m.rss_max_mb:.0f}"]
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
    asyncio.run(main(parser.parse_args()))
