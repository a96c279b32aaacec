"""Helpers for the upload pipeline's tests: seed a repo, store raw uploads, run the services as the
pipeline would (one transaction each, follow-ups through the real outbox), read the outbox back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Commit, OutboxRecord, ProcessedRecord, Upload
from stream_app.pipeline import outbox
from stream_app.services.upload_finishing import finish_upload
from stream_app.services.upload_processing import process_upload
from stream_app.services.uploads import ProviderAccess, create_uploads
from stream_app.settings import Settings
from stream_app.storage import ArchiveStorage
from stream_app.task_args import UploadItemV1
from tests.factories import create_owner, create_repo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "coverage"
UPLOAD = "app.tasks.upload.Upload"
PROCESSOR = "app.tasks.upload_processor.UploadProcessorTask"
FINISHER = "app.tasks.upload_finisher.UploadFinisherTask"
Sessions = async_sessionmaker[AsyncSession]


def fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def expected_totals(relative: str) -> dict[str, Any]:
    """coverage.py's own totals (from its JSON report) for a coverage.py fixture."""
    return dict(json.loads(fixture(relative))["totals"])


def sha(n: int) -> str:
    return f"{n:040x}"


@dataclass(frozen=True)
class Seeded:
    ownerid: int
    repoid: int


async def seed_repo(sessions: Sessions, **repo_overrides: Any) -> Seeded:
    async with sessions.begin() as s:
        ownerid = await create_owner(s)
        return Seeded(ownerid, await create_repo(s, ownerid=ownerid, **repo_overrides))


async def store_raw(storage: ArchiveStorage, repoid: int, name: str, data: bytes) -> str:
    """Put a raw upload where the web app would, returning its storage path."""
    path = f"v4/raw/{repoid}/{name}.txt"
    await storage.write(path, data)
    return path


def item(upload_id: str, storage_path: str, **fields: Any) -> UploadItemV1:
    return UploadItemV1(upload_id=upload_id, storage_path=storage_path, **fields)


def offline(http: httpx.AsyncClient | None = None, attempt: int = 0, **settings: Any) -> ProviderAccess:
    """Provider access for repos whose owner has no token: the services never call out."""
    return ProviderAccess(http or httpx.AsyncClient(), Settings(**settings), attempt)


@dataclass(frozen=True)
class Scheduled:
    task: str
    key: str | None
    args: dict[str, Any]


async def outbox_rows(sessions: Sessions, task: str | None = None) -> list[Scheduled]:
    async with sessions() as s:
        rows = (await s.scalars(select(OutboxRecord).order_by(OutboxRecord.id))).all()
    found = [_scheduled(row) for row in rows]
    return [f for f in found if task is None or f.task == task]


def _scheduled(row: OutboxRecord) -> Scheduled:
    value = json.loads(row.value)
    return Scheduled(value["task"], row.key.decode() if row.key else None, value["args"])


async def run_upload(
    sessions: Sessions,
    storage: ArchiveStorage,
    access: ProviderAccess,
    *,
    repoid: int,
    commitid: str,
    uploads: Sequence[UploadItemV1],
) -> dict[str, Any]:
    async with sessions.begin() as s:
        schedule = partial(outbox.schedule_task, s, "")
        return await create_uploads(
            s, storage, repoid=repoid, commitid=commitid, uploads=uploads, schedule=schedule, access=access
        )


async def run_processor(
    sessions: Sessions, storage: ArchiveStorage, access: ProviderAccess, *, repoid: int, commitid: str, upload_id: str
) -> dict[str, Any]:
    async with sessions.begin() as s:
        schedule = partial(outbox.schedule_task, s, "")
        return await process_upload(
            s, storage, repoid=repoid, commitid=commitid, upload_id=upload_id, schedule=schedule, access=access
        )


async def run_finisher(sessions: Sessions, storage: ArchiveStorage, *, repoid: int, commitid: str) -> dict[str, Any]:
    async with sessions.begin() as s:
        return await finish_upload(
            s, storage, repoid=repoid, commitid=commitid, schedule=partial(outbox.schedule_task, s, "")
        )


async def drain(sessions: Sessions, storage: ArchiveStorage, access: ProviderAccess) -> list[dict[str, Any]]:
    """Run the outbox's processor and finisher records (oldest first) until none is left; their results."""
    results: list[dict[str, Any]] = []
    while True:
        async with sessions.begin() as s:
            row = await s.scalar(
                select(OutboxRecord)
                .where(OutboxRecord.topic.in_([PROCESSOR, FINISHER]))
                .order_by(OutboxRecord.id)
                .limit(1)
            )
            if row is None:
                return results
            await s.execute(delete(OutboxRecord).where(OutboxRecord.id == row.id))
        found = _scheduled(row)
        if found.task == PROCESSOR:
            results.append(await run_processor(sessions, storage, access, **found.args))
        else:
            results.append(await run_finisher(sessions, storage, **found.args))


async def commit_row(sessions: Sessions, repoid: int, commitid: str) -> Commit:
    async with sessions() as s:
        commit = await s.scalar(select(Commit).where(Commit.repoid == repoid, Commit.commitid == commitid))
        assert commit is not None
        return commit


async def upload_states(sessions: Sessions, repoid: int, commitid: str) -> dict[str, str]:
    """upload_id -> state, for the commit's uploads."""
    async with sessions() as s:
        rows = await s.execute(
            select(Upload.external_id, Upload.state)
            .join(Commit, Commit.id == Upload.commit_id)
            .where(Commit.repoid == repoid, Commit.commitid == commitid)
        )
        return {external_id: state for external_id, state in rows.all()}


async def count_uploads(sessions: Sessions, repoid: int, commitid: str, state: str | None = None) -> int:
    async with sessions() as s:
        statement = (
            select(func.count())
            .select_from(Upload)
            .join(Commit, Commit.id == Upload.commit_id)
            .where(Commit.repoid == repoid, Commit.commitid == commitid)
        )
        if state is not None:
            statement = statement.where(Upload.state == state)
        return int(await s.scalar(statement) or 0)


# The pipeline on the real broker: its three tasks, and the follow-ups the finisher publishes.
PIPELINE_TASKS = (UPLOAD, PROCESSOR, FINISHER)
FOLLOW_UP_TASKS = ("app.tasks.status.SetPending", "app.tasks.notify.Notify", "app.tasks.pulls.Sync")


async def ledger_results(sessions: Sessions, task: str) -> list[dict[str, Any]]:
    """The results the pipeline kept for `task`'s processed records."""
    async with sessions() as s:
        rows = await s.scalars(select(ProcessedRecord.result).where(ProcessedRecord.task == task))
        return [dict(r) for r in rows.all() if r is not None]


async def commit_state(sessions: Sessions, repoid: int, commitid: str) -> str | None:
    async with sessions() as s:
        return await s.scalar(select(Commit.state).where(Commit.repoid == repoid, Commit.commitid == commitid))
