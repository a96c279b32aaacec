"""Delete repos' coverage data: archive files and coverage rows. Shared by FlushRepo and DeleteOwner.

Rows are deleted first and files after, all inside the caller's transaction, so a database
error deletes no file. If the transaction still rolls back after the files went, the rows are
back and a re-run deletes them again; a file already gone is simply not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Select, Update, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Branch, Commit, CommitNotification, Pull, Upload
from stream_app.storage import ArchiveStorage
from stream_app.storage.paths import repo_prefix

# Bounds the file deletes in flight: a repo can have many thousands of uploads.
FILE_DELETE_CONCURRENCY = 50


async def count_rows(session: AsyncSession, statement: Delete | Update) -> int:
    """Run a bulk DELETE/UPDATE and return how many rows it touched."""
    # No ORM objects are loaded, so there is nothing in the session to synchronize.
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return cast("CursorResult[Any]", result).rowcount


async def delete_coverage_data(
    session: AsyncSession, storage: ArchiveStorage, *, repoids: Sequence[int]
) -> dict[str, int]:
    """Delete the repos' uploads, notifications, commits, branches and pulls, then their files.

    Returns the deleted counts per kind; the repo rows themselves are left to the caller.
    """
    if not repoids:
        return {"commits": 0, "uploads": 0, "commit_notifications": 0, "branches": 0, "pulls": 0, "files": 0}
    commit_ids = select(Commit.id).where(Commit.repoid.in_(repoids))
    upload_paths = await _delete_uploads(session, commit_ids)
    notifications = await count_rows(
        session, delete(CommitNotification).where(CommitNotification.commit_id.in_(commit_ids))
    )
    return {
        "commits": await count_rows(session, delete(Commit).where(Commit.repoid.in_(repoids))),
        "uploads": len(upload_paths),
        "commit_notifications": notifications,
        "branches": await count_rows(session, delete(Branch).where(Branch.repoid.in_(repoids))),
        "pulls": await count_rows(session, delete(Pull).where(Pull.repoid.in_(repoids))),
        "files": await _delete_files(storage, upload_paths, repoids),
    }


async def _delete_uploads(session: AsyncSession, commit_ids: Select[int]) -> list[str]:
    """Delete the uploads rows; returns their storage paths (one per deleted row)."""
    statement = delete(Upload).where(Upload.commit_id.in_(commit_ids)).returning(Upload.storage_path)
    result = await session.scalars(statement.execution_options(synchronize_session=False))
    return list(result.all())


async def _delete_files(storage: ArchiveStorage, upload_paths: Iterable[str], repoids: Sequence[int]) -> int:
    # Raw uploads may live outside the repo's prefix, so they are deleted one by one first;
    # the prefix sweep then takes the reports and anything else left under the repo.
    paths = sorted({path for path in upload_paths if path})
    deleted = 0
    for start in range(0, len(paths), FILE_DELETE_CONCURRENCY):
        chunk = paths[start : start + FILE_DELETE_CONCURRENCY]
        deleted += sum(await asyncio.gather(*(storage.delete(path) for path in chunk)))
    for repoid in repoids:
        deleted += await storage.delete_prefix(repo_prefix(repoid))
    return deleted
