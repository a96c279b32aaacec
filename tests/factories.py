"""Builders for coverage rows: plain async functions that insert with sensible defaults.

Each takes the session first, overrides as keyword arguments, and returns the new row's id.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Branch, Commit, CommitNotification, Owner, Pull, Repo, Upload
from stream_app.storage import ArchiveStorage
from stream_app.storage.paths import commit_report_path, repo_prefix

_numbers = itertools.count(1)


async def create_owner(session: AsyncSession, **overrides: Any) -> int:
    n = next(_numbers)
    values = {"service": "github", "service_id": f"{1000 + n}", "username": f"user{n}", **overrides}
    return (await session.scalars(insert(Owner).values(values).returning(Owner.ownerid))).one()


async def create_repo(session: AsyncSession, *, ownerid: int, **overrides: Any) -> int:
    n = next(_numbers)
    values = {"ownerid": ownerid, "service_id": f"{2000 + n}", "name": f"repo{n}", "branch": "main", **overrides}
    return (await session.scalars(insert(Repo).values(values).returning(Repo.repoid))).one()


async def create_commit(session: AsyncSession, *, repoid: int, **overrides: Any) -> int:
    # Leave `report` out unless given: a Python None would be stored as JSON 'null'.
    values = {"repoid": repoid, "commitid": f"{next(_numbers):040x}", "branch": "main", "state": "complete"}
    return (await session.scalars(insert(Commit).values({**values, **overrides}).returning(Commit.id))).one()


async def create_upload(session: AsyncSession, *, commit_id: int, storage_path: str, **overrides: Any) -> int:
    values = {"commit_id": commit_id, "external_id": f"upload-{next(_numbers)}", "storage_path": storage_path}
    return (await session.scalars(insert(Upload).values({**values, **overrides}).returning(Upload.id))).one()


async def create_notification(session: AsyncSession, *, commit_id: int, notification_type: str = "comment") -> int:
    values = {"commit_id": commit_id, "notification_type": notification_type, "state": "success"}
    return (await session.scalars(insert(CommitNotification).values(values).returning(CommitNotification.id))).one()


async def create_branch(session: AsyncSession, *, repoid: int, branch: str, head: str | None = None) -> str:
    await session.execute(insert(Branch).values(repoid=repoid, branch=branch, head=head))
    return branch


async def create_pull(session: AsyncSession, *, repoid: int, pullid: int, **overrides: Any) -> int:
    values = {"repoid": repoid, "pullid": pullid, "state": "open", "title": f"pull {pullid}", **overrides}
    return (await session.scalars(insert(Pull).values(values).returning(Pull.id))).one()


@dataclass(frozen=True)
class SeededRepo:
    repoid: int
    commit_ids: list[int]
    files: list[str]


async def seed_repo_coverage(session: AsyncSession, storage: ArchiveStorage, *, repoid: int) -> SeededRepo:
    """3 commits, 5 uploads, 1 notification, 2 branches, 1 pull and 6 archived files.

    Three raw uploads live outside the repo's prefix and two inside it, plus one report file.
    """
    commit_ids = [await create_commit(session, repoid=repoid) for _ in range(3)]
    files = [f"v4/raw/{repoid}/{n}.txt" for n in range(3)] + [f"{repo_prefix(repoid)}uploads/{n}.txt" for n in range(2)]
    for n, path in enumerate(files):
        await create_upload(session, commit_id=commit_ids[n % 3], storage_path=path)
    await create_notification(session, commit_id=commit_ids[0])
    await create_branch(session, repoid=repoid, branch="main")
    await create_branch(session, repoid=repoid, branch="feature")
    await create_pull(session, repoid=repoid, pullid=1)
    commitid = await session.scalar(select(Commit.commitid).where(Commit.id == commit_ids[0]))
    files.append(commit_report_path(repoid, str(commitid)))
    for path in files:
        await storage.write(path, b"coverage data")
    return SeededRepo(repoid=repoid, commit_ids=commit_ids, files=files)


async def count_coverage_rows(session: AsyncSession, *, repoid: int) -> dict[str, int]:
    """The repo's rows per coverage table, keyed like the services' result counts."""
    commit_ids = select(Commit.id).where(Commit.repoid == repoid)
    queries = {
        "commits": select(func.count()).select_from(Commit).where(Commit.repoid == repoid),
        "uploads": select(func.count()).select_from(Upload).where(Upload.commit_id.in_(commit_ids)),
        "commit_notifications": select(func.count())
        .select_from(CommitNotification)
        .where(CommitNotification.commit_id.in_(commit_ids)),
        "branches": select(func.count()).select_from(Branch).where(Branch.repoid == repoid),
        "pulls": select(func.count()).select_from(Pull).where(Pull.repoid == repoid),
    }
    return {kind: int(await session.scalar(query) or 0) for kind, query in queries.items()}
