"""Owner-level tasks: DeleteOwner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Commit, Owner, Pull, Repo
from stream_app.services.coverage_data import count_rows, delete_coverage_data
from stream_app.storage import ArchiveStorage

# Other owners' arrays of ownerids: a deleted user must not stay an org member, an admin, or
# hold an activated seat of a plan.
OWNERID_ARRAYS = (Owner.organizations, Owner.admins, Owner.plan_activated_users)


async def delete_owner(session: AsyncSession, storage: ArchiveStorage, *, ownerid: int) -> dict[str, Any]:
    """Delete the owner, its repos with all their coverage data and files, and references to it.

    Safe to re-run after a crash: every step deletes or clears only what is still there.
    """
    found = await session.scalar(select(Owner.ownerid).where(Owner.ownerid == ownerid).with_for_update())
    if found is None:
        return {"reason": "owner_not_found"}
    repoids = list(await session.scalars(select(Repo.repoid).where(Repo.ownerid == ownerid).order_by(Repo.repoid)))
    deleted = await delete_coverage_data(session, storage, repoids=repoids)
    # Runs after the coverage rows are gone, so only other owners' commits and pulls are left to update.
    unlinked = await _unlink_references(session, ownerid)
    deleted["repos"] = await count_rows(session, delete(Repo).where(Repo.ownerid == ownerid))
    deleted["owners"] = await count_rows(session, delete(Owner).where(Owner.ownerid == ownerid))
    return {"ownerid": ownerid, "deleted": deleted, "unlinked": unlinked}


async def _unlink_references(session: AsyncSession, ownerid: int) -> dict[str, int]:
    """Remove the ownerid from other rows; counts of rows changed per reference kind.

    The foreign keys would null bot/author too, but explicit updates do not depend on how a
    shared database's constraints were declared, and they give counts.
    """
    others = Owner.ownerid != ownerid
    unlinked: dict[str, int] = {}
    for column in OWNERID_ARRAYS:
        statement = update(Owner).where(others, any_(column) == ownerid)
        unlinked[column.key] = await count_rows(session, statement.values({column: func.array_remove(column, ownerid)}))
    unlinked["owner_bots"] = await count_rows(
        session, update(Owner).where(others, Owner.bot == ownerid).values(bot=None)
    )
    unlinked["repo_bots"] = await count_rows(
        session, update(Repo).where(Repo.ownerid != ownerid, Repo.bot == ownerid).values(bot=None)
    )
    unlinked["commit_authors"] = await count_rows(
        session, update(Commit).where(Commit.author == ownerid).values(author=None)
    )
    unlinked["pull_authors"] = await count_rows(session, update(Pull).where(Pull.author == ownerid).values(author=None))
    return unlinked
