"""End-to-end time of the upload pipeline: Upload record produced -> 20 uploads merged into the report.

    .venv/bin/python bench/uploads.py [--rounds N] [--uploads 20] [--big-files F --big-lines L]

Needs the local broker (127.0.0.1:9092) and PostgreSQL (127.0.0.1:5432, user postgres); drops and
recreates the database `stream_app_bench_uploads`. One in-process Worker runs the three upload tasks
(Upload, UploadProcessor, UploadFinisher) with the outbox relay publishing the follow-ups. Each round
uses a fresh commit; the clock runs from the first send to the moment the commit is `complete` with all
its uploads `merged` (polled every 10 ms), so it includes Kafka hops, the relay and the chord.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

import stream_app.agents.upload
import stream_app.agents.upload_finisher
import stream_app.agents.upload_processor  # noqa: F401  (register the handlers)
from stream_app.agents.registry import HANDLERS
from stream_app.client import TaskProducer
from stream_app.dbmigrate import upgrade
from stream_app.ops.topics import all_topics, create_topics
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.worker import Worker

TASKS = [
    "app.tasks.upload.Upload",
    "app.tasks.upload_processor.UploadProcessorTask",
    "app.tasks.upload_finisher.UploadFinisherTask",
]
FOLLOW_UPS = ["app.tasks.status.SetPending", "app.tasks.notify.Notify", "app.tasks.pulls.Sync"]
BOOTSTRAP = "127.0.0.1:9092"
PG = "postgresql://postgres@127.0.0.1:5432"
DB_DSN = f"{PG}/stream_app_bench_uploads"
DB_URL = DB_DSN.replace("postgresql://", "postgresql+asyncpg://")
SMALL = Path(__file__).resolve().parents[1] / "tests/fixtures/coverage/coveragepy/coverage.xml"
DONE = """SELECT c.state = 'complete' AND count(u.id) FILTER (WHERE u.state = 'merged') = $3
    FROM commits c JOIN uploads u ON u.commit_id = c.id WHERE c.repoid = $1 AND c.commitid = $2 GROUP BY c.state"""


def big_cobertura(files: int, lines: int) -> bytes:
    """A Cobertura report of `files` x `lines` lines: every third line missed, every fifth a branch."""
    out = ['<?xml version="1.0" ?>\n<coverage version="1"><packages><package name="p"><classes>']
    for f in range(files):
        out.append(f'<class name="m{f}" filename="src/pkg{f % 10}/mod{f}.py"><lines>')
        for n in range(1, lines + 1):
            hits = 0 if n % 3 == 0 else n
            branch = ' branch="true" condition-coverage="50% (1/2)"' if n % 5 == 0 else ""
            out.append(f'<line number="{n}" hits="{hits}"{branch}/>')
        out.append("</lines></class>")
    out.append("</classes></package></packages></coverage>\n")
    return "".join(out).encode()


async def setup_database() -> asyncpg.Connection:
    admin = await asyncpg.connect(f"{PG}/postgres", timeout=5)
    await admin.execute("DROP DATABASE IF EXISTS stream_app_bench_uploads WITH (FORCE)")
    await admin.execute("CREATE DATABASE stream_app_bench_uploads")
    await admin.close()
    await asyncio.to_thread(upgrade, DB_URL)
    conn = await asyncpg.connect(DB_DSN)
    owner = await conn.fetchval(
        "INSERT INTO owners (service, service_id, username) VALUES ('github', '1', 'b') RETURNING ownerid"
    )
    columns = "repoid, ownerid, service_id, name, branch, private, activated, using_integration, deleted"
    await conn.execute(
        f"INSERT INTO repos ({columns}) VALUES (1, $1, '1', 'r', 'main', false, true, false, false)", owner
    )
    return conn


async def one_round(
    conn: asyncpg.Connection, settings: Settings, storage: LocalStorage, body: bytes, n: int, shape: str
) -> float:
    commitid = uuid.uuid4().hex + "0" * 8
    items = []
    for i in range(n):
        path = f"raw/{commitid}/{i}.txt"
        await storage.write(path, body)
        items.append({"upload_id": f"u{i}", "storage_path": path})
    batches = [[item] for item in items] if shape == "20 records" else [items]
    async with TaskProducer(BOOTSTRAP, topic_prefix=settings.topic_prefix) as producer:
        start = time.perf_counter()
        for batch in batches:
            await producer.send("upload", repoid=1, commitid=commitid, uploads=batch)
        while not await conn.fetchval(DONE, 1, commitid, n):  # noqa: ASYNC110 - polls PostgreSQL
            await asyncio.sleep(0.01)
        return time.perf_counter() - start


async def run(ns: argparse.Namespace) -> list[dict[str, Any]]:
    conn = await setup_database()
    tmp = tempfile.TemporaryDirectory(prefix="bench-uploads-")
    prefix = f"benchup{uuid.uuid4().hex[:8]}."
    settings = Settings(kafka_bootstrap=BOOTSTRAP, database_url=DB_URL, topic_prefix=prefix, group_id=prefix + "g",
                        partitions=8, storage_url=f"file://{tmp.name}/archive")  # fmt: skip
    await create_topics(settings, tasks=TASKS + FOLLOW_UPS)
    storage = LocalStorage(Path(tmp.name) / "archive")
    big = big_cobertura(ns.big_files, ns.big_lines)
    plan = [
        ("1 record x 20 uploads", SMALL.read_bytes(), "1 record"),
        ("20 records x 1 upload", SMALL.read_bytes(), "20 records"),
        (f"1 record x 20 uploads, {ns.big_files}x{ns.big_lines} lines each", big, "1 record"),
    ]
    worker = Worker(settings, {task: HANDLERS[task] for task in TASKS}, drain_seconds=5.0)
    await worker.start()
    rows = []
    try:
        await one_round(conn, settings, storage, SMALL.read_bytes(), 2, "1 record")  # warm-up: joins, connections
        for label, body, shape in plan:
            print(f"running {label} ...", flush=True)
            times = [await one_round(conn, settings, storage, body, ns.uploads, shape) for _ in range(ns.rounds)]
            rows.append({"label": label, "size": len(body), "times": times})
    finally:
        await worker.stop()
        await conn.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        await admin.start()
        await admin.delete_topics(all_topics(prefix, TASKS + FOLLOW_UPS))
        await admin.close()
        tmp.cleanup()
    return rows


def report(rows: list[dict[str, Any]], ns: argparse.Namespace) -> None:
    print(f"\nend to end: first Upload record sent -> commit complete with {ns.uploads} uploads merged")
    print("| scenario | upload size | rounds | min s | median s | max s |")
    print("|---|--:|--:|--:|--:|--:|")
    for r in rows:
        t = r["times"]
        size = f"{r['size'] / 1024:.1f} KiB"
        print(f"| {r['label']} | {size} | {len(t)} | {min(t):.2f} | {statistics.median(t):.2f} | {max(t):.2f} |")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--uploads", type=int, default=20)
    p.add_argument("--big-files", type=int, default=200)
    p.add_argument("--big-lines", type=int, default=250)
    logging.basicConfig(level=logging.WARNING)
    args = p.parse_args()
    report(asyncio.run(run(args)), args)
