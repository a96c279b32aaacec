"""Delete repos' coverage data: archive files and coverage rows. Shared by FlushRepo and DeleteOwner.

Rows are deleted first and files after, all inside the caller's transaction, so a database
error deletes no file. If the transaction still rolls back after the files went, the rows are
back and a re-run deletes them again; a file already gone is simply not counted.

The files: everything under each repo's prefix (`repos/{repoid}/`), and the raw uploads its
upload rows name. A storage path is record text, so a raw upload is deleted only when nothing
shows it to be another repo's: it must be a plain relative key (`raw_upload_path`), not under
any `repos/` prefix (the sweep takes the repo's own), not in another repo's directory of the
`v4/raw/[{date}/]{repoid}/` layout, and not named by an upload row of a repo that stays. The
others are left in storage (and logged), never deleted. The web app's layout is not part of the
contract, so a raw upload elsewhere is still deleted when it passes these checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ARRAY, CursorResult, Delete, Text, Update, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Branch, Commit, CommitNotification, Pull, Upload
from stream_app.services.upload_paths import is_plain_key, raw_upload_repoid
from stream_app.storage import ArchiveStorage
from stream_app.storage.paths import repo_prefix

log = logging.getLogger(__name__)

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
    upload_paths = await _delete_uploads(session, repoids)
    notifications = await count_rows(
        session, delete(CommitNotification).where(CommitNotification.commit_id.in_(commit_ids))
    )
    return {
        "commits": await count_rows(session, delete(Commit).where(Commit.repoid.in_(repoids))),
        "uploads": len(upload_paths),
        "commit_notifications": notifications,
        "branches": await count_rows(session, delete(Branch).where(Branch.repoid.in_(repoids))),
        "pulls": await count_rows(session, delete(Pull).where(Pull.repoid.in_(repoids))),
        "files": await _delete_files(session, storage, upload_paths, repoids),
    }


async def _delete_uploads(session: AsyncSession, repoids: Sequence[int]) -> list[tuple[int, str]]:
    """Delete the repos' uploads rows; returns (repoid, storage path) per deleted row."""
    statement = (
        delete(Upload)
        .where(Upload.commit_id == Commit.id, Commit.repoid.in_(repoids))
        .returning(Commit.repoid, Upload.storage_path)
    )
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return [(repoid, path) for repoid, path in result.all()]


def _may_be_own(repoid: int, path: str) -> bool:
    """Nothing in the path itself says the raw upload is another repo's."""
    if not is_plain_key(path) or path.startswith("repos/"):
        return False
    owner = raw_upload_repoid(path)
    return owner is None or owner == repoid


async def _own_raw_uploads(session: AsyncSession, upload_paths: Sequence[tuple[int, str]]) -> list[str]:
    """The raw uploads to delete with their rows; logs the others, which stay in storage (those
    under the repo's own prefix are the prefix sweep's)."""
    candidates = sorted({path for repoid, path in upload_paths if _may_be_own(repoid, path)})
    # The rows of the repos being deleted are gone already: a row still naming a path is another
    # repo's, so that file is that repo's too. One array parameter, however many paths.
    named = select(Upload.storage_path).where(Upload.storage_path == func.any(bindparam("p", candidates, ARRAY(Text))))
    shared = set((await session.scalars(named)).all()) if candidates else set()
    own = set(candidates) - shared
    kept = {path for repoid, path in upload_paths if path not in own and not path.startswith(repo_prefix(repoid))}
    if kept:
        log.warning("kept %d raw uploads that may be another repo's, e.g. %r", len(kept), min(kept))
    return sorted(own)


async def _delete_files(
    session: AsyncSession, storage: ArchiveStorage, upload_paths: Sequence[tuple[int, str]], repoids: Sequence[int]
) -> int:
    # Raw uploads live outside the repo's prefix (the web app's paths), so the repo's own are
    # deleted one by one first; the prefix sweep then takes the reports and everything else.
    paths = await _own_raw_uploads(session, upload_paths)
    deleted = 0
    for start in range(0, len(paths), FILE_DELETE_CONCURRENCY):
        chunk = paths[start : start + FILE_DELETE_CONCURRENCY]
        deleted += sum(await asyncio.gather(*(storage.delete(path) for path in chunk)))
    for repoid in repoids:
        deleted += await storage.delete_prefix(repo_prefix(repoid))
    return deleted
