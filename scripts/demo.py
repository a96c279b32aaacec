"""A visible demo on the local Kafka and PostgreSQL: seed data, produce records, show outcomes.

Run by scripts/quickstart.sh while a worker runs (`stream-app worker`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, insert, select

from stream_app.client import TaskProducer
from stream_app.db import make_engine, make_session_factory
from stream_app.models import Commit, Owner, ProcessedRecord, Repo
from stream_app.settings import get_settings
from stream_app.storage import open_storage
from stream_app.tasks import topic_for


async def seed() -> tuple[int, int, int]:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    storage = open_storage(settings.storage_url)
    tag = uuid.uuid4().hex[:8]
    async with make_session_factory(engine).begin() as s:
        owner = (
            await s.execute(
                insert(Owner)
                .values(service="github", service_id=f"demo-{tag}", username=f"demo-{tag}")
                .returning(Owner.ownerid)
            )
        ).scalar_one()
        repos = []
        for name in ("api", "web"):
            repoid = (
                await s.execute(
                    insert(Repo).values(ownerid=owner, service_id=f"{tag}-{name}", name=name).returning(Repo.repoid)
                )
            ).scalar_one()
            for n in range(3):
                report = {"files": {"app.py": {"lines": 10, "hits": 7 + n}}}
                await s.execute(
                    insert(Commit).values(
                        repoid=repoid, commitid=hashlib.sha1(f"{tag}{name}{n}".encode()).hexdigest(), report=report
                    )
                )
            await storage.write(f"repos/{repoid}/raw/upload-{tag}.txt", b"coverage upload")
            repos.append(repoid)
    await engine.dispose()
    print(f"seeded owner {owner} with repos {repos}: 3 commits each, reports still in the database")
    return owner, repos[0], repos[1]


async def produce(owner: int, api: int, web: int) -> list[tuple[str, str]]:
    settings = get_settings()
    sent = []
    async with TaskProducer(settings.kafka_bootstrap, topic_prefix=settings.topic_prefix, producer_id="demo") as p:
        sent.append(("archive_migrate", await p.send("archive_migrate", repoid=api, commitid=None)))
        sent.append(("flush_repo", await p.send("flush_repo", repoid=web)))
        sent.append(("flush_repo (missing repo)", await p.send("flush_repo", repoid=987654321)))
        sent.append(("delete_owner", await p.send("delete_owner", ownerid=owner)))
    raw = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await raw.start()
    bad = {
        "task": "app.tasks.flush_repo.FlushRepo",
        "version": 1,
        "id": f"bad-{uuid.uuid4()}",
        "created_at": "2026-11-29T05:00:00Z",
        "args": {"repoid": "not a number"},
    }
    await raw.send_and_wait(
        topic_for("app.tasks.flush_repo.FlushRepo", settings.topic_prefix), json.dumps(bad).encode()
    )
    await raw.stop()
    for name, rid in sent:
        print(f"produced {name:<26} record {rid}")
    print(f"produced a bad flush_repo record       record {bad['id']} (repoid is a string)")
    return sent


async def show(sent: list[tuple[str, str]]) -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    ids = [rid for _, rid in sent]
    async with make_session_factory(engine)() as s:
        for _ in range(120):
            done = await s.scalar(select(func.count()).where(ProcessedRecord.record_id.in_(ids)))
            if done == len(ids):
                break
            await asyncio.sleep(0.5)
        rows = {
            r.record_id: r for r in (await s.scalars(select(ProcessedRecord).where(ProcessedRecord.record_id.in_(ids))))
        }
    await engine.dispose()
    print("\nwhat the worker did (processed_records ledger):")
    for name, rid in sent:
        row = rows.get(rid)
        print(f"  {name:<26} {json.dumps(row.result) if row else 'NOT PROCESSED (is the worker running?)'}")


async def main() -> None:
    owner, api, web = await seed()
    sent = await produce(owner, api, web)
    await show(sent)


if __name__ == "__main__":
    asyncio.run(main())
