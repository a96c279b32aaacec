"""Repo-level maintenance tasks: FlushRepo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Repo
from stream_app.services.coverage_data import delete_coverage_data
from stream_app.storage import ArchiveStorage


async def flush_repo(session: AsyncSession, storage: ArchiveStorage, *, repoid: int) -> dict[str, Any]:
    """Delete all of the repo's coverage data and reset its yaml and cache; the repo row stays."""
    # Row lock: an upload inserting a commit for this repo waits until the flush commits.
    found = await session.scalar(select(Repo.repoid).where(Repo.repoid == repoid).with_for_update())
    if found is None:
        return {"reason": "repo_not_found"}
    deleted = await delete_coverage_data(session, storage, repoids=[repoid])
    # null(): on JSON columns a Python None would store JSON 'null', not SQL NULL.
    await session.execute(update(Repo).where(Repo.repoid == repoid).values(yaml=null(), cache=null()))
    return {"repoid": repoid, "deleted": deleted}
