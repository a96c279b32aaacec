"""MigrateToArchive: move commit reports still held in `commits.report` into archive storage.

Pointer design: the pointer is the row itself. The archive path is
`commit_report_path(repoid, commitid)`, a pure function of the row's own keys and the same
path the upload finisher writes reports to, so after migration `commits.report` is SQL NULL
and nothing else is stored. Readers follow one rule: a non-null `commits.report` is a report
not migrated yet and is authoritative; NULL means "read commit_report_path". We chose this
over a `{"archive": "<path>"}` object in the column because the column is then truly cleared,
readers never have to tell a pointer object from a report, and a stored path could only ever
disagree with the derived one. The cost: a migrated commit and one that never had a report
look alike in the database (storage.exists tells them apart); both count as skipped.
`column_report` is the one reading of the column: the bytes archived for it, which the upload
finisher also merges into when it meets a report not migrated yet.

Crash safety: each batch's files are written before its rows are cleared, inside the caller's
transaction. A rollback leaves the rows as they were and a re-run rewrites the same files.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Commit, Repo
from stream_app.storage import ArchiveStorage
from stream_app.storage.paths import commit_report_path

BATCH_SIZE = 100  # commits (and their reports) held in memory at a time

# SQL NULL and a JSON 'null' both mean there is no report to move.
HAS_REPORT = func.coalesce(func.jsonb_typeof(Commit.report), "null") != "null"


def column_report(value: Any) -> bytes | None:
    """The report document a loaded `commits.report` holds, as the bytes archived for it (read them
    with `coverage.load_report`); None when it holds none. JSONB loads SQL NULL and JSON 'null' both
    as None: the Python side of HAS_REPORT."""
    return None if value is None else json.dumps(value).encode()


async def migrate_to_archive(
    session: AsyncSession, storage: ArchiveStorage, *, repoid: int, commitid: str | None
) -> dict[str, Any]:
    """Archive one commit's report, or every commit's of the repo when commitid is None."""
    if await session.scalar(select(Repo.repoid).where(Repo.repoid == repoid)) is None:
        return {"reason": "repo_not_found"}
    scope: list[ColumnElement[bool]] = [Commit.repoid == repoid]
    if commitid is not None:
        scope.append(Commit.commitid == commitid)
        if await session.scalar(select(Commit.id).where(*scope)) is None:
            return {"reason": "commit_not_found"}
    # Counted before migrating: afterwards the migrated commits look the same.
    skipped = await session.scalar(select(func.count()).select_from(Commit).where(*scope, ~HAS_REPORT))
    migrated, after_id = 0, 0
    while batch := await _next_batch(session, scope, after_id=after_id):
        await _archive_batch(session, storage, repoid, batch)
        migrated += len(batch)
        after_id = batch[-1].id
    return {"migrated": migrated, "skipped": skipped or 0}


async def _next_batch(
    session: AsyncSession, scope: Sequence[ColumnElement[bool]], *, after_id: int
) -> Sequence[Row[int, str, Any]]:
    # Keyset pagination by id; FOR UPDATE so a concurrent writer's report is not lost between
    # archiving it and clearing the column.
    statement = (
        select(Commit.id, Commit.commitid, Commit.report)
        .where(*scope, HAS_REPORT, Commit.id > after_id)
        .order_by(Commit.id)
        .limit(BATCH_SIZE)
        .with_for_update()
    )
    return (await session.execute(statement)).all()


async def _archive_batch(
    session: AsyncSession, storage: ArchiveStorage, repoid: int, batch: Sequence[Row[int, str, Any]]
) -> None:
    writes = []
    for row in batch:
        blob = column_report(row.report)
        assert blob is not None  # selected with HAS_REPORT
        writes.append(storage.write(commit_report_path(repoid, row.commitid), blob))
    await asyncio.gather(*writes)
    # null(): on a JSONB column a Python None would store JSON 'null', not SQL NULL.
    ids = [row.id for row in batch]
    await session.execute(update(Commit).where(Commit.id.in_(ids)).values(report=null()))
