"""Synchronize: bring a repo's metadata, branches and open pulls up to date with the provider.

Provider reads come first, without locks; then the repo row is locked and only what differs
is written, so a re-run with no changes writes nothing and schedules nothing. Pulls are left
to pulls.Sync (which owns `pulls` rows): it is scheduled for each open pull whose head differs
from the stored one (or that is not stored yet, or not stored as open), and for each pull
stored as open that the provider no longer lists as open (closed or merged since).
Those pulls.Sync records do not send notifications: a catch-up sync is not a new upload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Branch, Pull, Repo
from stream_app.providers import ProviderNotFound, ProviderUnauthorized
from stream_app.providers.types import BranchInfo, PullInfo, RepoInfo
from stream_app.services.repo_provider import ProviderSetup, Unavailable, load_repo, open_repo

Schedule = Callable[..., Awaitable[str]]  # schedule(task, key=None, **args): a follow-up through the outbox
PULLS_SYNC = "app.tasks.pulls.Sync"


def _nothing(reason: str) -> dict[str, Any]:
    return {"branches": 0, "pulls_scheduled": 0, "reason": reason}


async def synchronize(
    session: AsyncSession, setup: ProviderSetup, *, repoid: int, schedule: Schedule
) -> dict[str, Any]:
    """Returns {"branches", "pulls_scheduled", "repo_updated": [fields], "branches_written", "branches_removed"}."""
    opened = await open_repo(session, setup, repoid=repoid)
    if isinstance(opened, Unavailable):
        return _nothing(opened.reason)
    provider, ref = opened.provider, opened.ref
    try:
        info = await provider.get_repo(ref)
        branches = await provider.list_branches(ref)
        pulls = await provider.list_pulls(ref, state="open")
    except ProviderNotFound:
        return _nothing("repo_not_found_on_provider")
    except ProviderUnauthorized:
        return _nothing("unauthorized")
    if info.service_id != opened.repo.service_id:
        return _nothing("provider_repo_mismatch")  # the name now belongs to another repo
    loaded = await load_repo(session, repoid, lock=True)
    if isinstance(loaded, Unavailable):
        return _nothing(loaded.reason)
    repo, _ = loaded
    updated = await _update_repo(session, repo, info)
    written, removed = await _sync_branches(session, repoid, branches)
    scheduled = await _schedule_pull_syncs(session, repoid, pulls, schedule)
    return {
        "branches": len(branches),
        "pulls_scheduled": scheduled,
        "repo_updated": updated,
        "branches_written": written,
        "branches_removed": removed,
    }


async def _update_repo(session: AsyncSession, repo: Repo, info: RepoInfo) -> list[str]:
    """Write the metadata fields that differ; returns their names."""
    wanted: dict[str, Any] = {"name": info.name, "private": info.private, "language": info.language}
    if info.default_branch is not None:  # an empty repo has none: keep ours
        wanted["branch"] = info.default_branch
    changed = [field for field, value in wanted.items() if getattr(repo, field) != value]
    if "name" in changed and await _name_taken(session, repo, info.name):
        changed.remove("name")  # another row of the owner holds the name: SyncRepos sorts that out
    for field in changed:
        setattr(repo, field, wanted[field])
    if changed:
        repo.updatestamp = datetime.now(UTC)
        await session.flush()
    return changed


async def _name_taken(session: AsyncSession, repo: Repo, name: str) -> bool:
    other = select(Repo.repoid).where(Repo.ownerid == repo.ownerid, Repo.name == name, Repo.repoid != repo.repoid)
    return await session.scalar(other) is not None


async def _sync_branches(session: AsyncSession, repoid: int, branches: Sequence[BranchInfo]) -> tuple[int, int]:
    """Upsert branches whose head differs, delete those gone from the provider; (written, removed)."""
    rows = await session.execute(select(Branch.branch, Branch.head).where(Branch.repoid == repoid))
    stored: dict[str, str | None] = {name: head for name, head in rows.all()}
    current = {b.name: b.head_sha for b in branches}
    changed = [
        {"repoid": repoid, "branch": n, "head": h} for n, h in current.items() if n not in stored or stored[n] != h
    ]
    if changed:
        statement = insert(Branch).values(changed)
        statement = statement.on_conflict_do_update(
            index_elements=[Branch.repoid, Branch.branch],
            set_={"head": statement.excluded.head, "updatestamp": datetime.now(UTC)},
        )
        await session.execute(statement)
    gone = [name for name in stored if name not in current]
    if gone:
        await session.execute(delete(Branch).where(Branch.repoid == repoid, Branch.branch.in_(gone)))
    return len(changed), len(gone)


async def _schedule_pull_syncs(
    session: AsyncSession, repoid: int, pulls: Sequence[PullInfo], schedule: Schedule
) -> int:
    rows = await session.execute(select(Pull.pullid, Pull.head, Pull.state).where(Pull.repoid == repoid))
    stored = {pullid: (head, state) for pullid, head, state in rows.all()}
    stale = [p.number for p in pulls if stored.get(p.number) != (p.head_sha, "open")]
    open_now = {p.number for p in pulls}
    stale += sorted(pullid for pullid, (_, state) in stored.items() if state == "open" and pullid not in open_now)
    for pullid in stale:
        await schedule(PULLS_SYNC, repoid=repoid, pullid=pullid, should_send_notifications=False)
    return len(stale)
