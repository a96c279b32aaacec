"""pulls.Sync: refresh one pull from the provider, settle its commits, store its diff coverage.

Provider reads (the pull, its commits, the merge commit, the compare) come first, without
locks. Then the pull row is locked and only what differs is written, so a re-run writes
nothing new; commit updates only touch rows not yet in the wanted state, so the counts are of
rows changed.

* A merged pull whose merge commit has the pull's head among its parents (a real merge, not a
  squash or rebase) marks its commits `merged` onto the base branch.
* Commits of this pull (`commits.pullid`) no longer among the pull's commits (force-pushed
  away) are soft-deleted (`deleted = true`); the merge commit is never one of them. GitHub lists
  at most 250 commits of a pull: past that, nothing is soft-deleted (the list is incomplete).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import null, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Commit, Owner, Pull
from stream_app.providers import ProviderNotFound, ProviderUnauthorized
from stream_app.providers.types import PullInfo, UserRef
from stream_app.services.coverage_data import count_rows
from stream_app.services.pulls_diff import pull_diff
from stream_app.services.repo_provider import ProviderSetup, RepoOnProvider, Unavailable, open_repo
from stream_app.storage import ArchiveStorage

Schedule = Callable[..., Awaitable[str]]  # schedule(task, key=None, **args): a follow-up through the outbox
NOTIFY = "app.tasks.notify.Notify"
PULL_COMMITS_LIMIT = 250  # GitHub's most commits listed for one pull


@dataclass(frozen=True)
class PullFacts:
    pull: PullInfo
    commits: tuple[str, ...]
    really_merged: bool  # merged with a merge commit (not squashed or rebased)
    diff: dict[str, Any] | None


def _result(*, updated: bool = False, merged: int = 0, deleted: int = 0, notified: bool = False) -> dict[str, Any]:
    return {"pull_updated": updated, "merged_count": merged, "soft_deleted_count": deleted, "notifier_called": notified}


async def sync_pull(
    session: AsyncSession,
    setup: ProviderSetup,
    storage: ArchiveStorage,
    *,
    repoid: int,
    pullid: int,
    should_send_notifications: bool,
    schedule: Schedule,
) -> dict[str, Any]:
    opened = await open_repo(session, setup, repoid=repoid)
    if isinstance(opened, Unavailable):
        return {**_result(), "reason": opened.reason}
    try:
        facts = await read_pull(opened, storage, pullid)
    except ProviderNotFound:
        return {**_result(), "reason": "pull_not_found"}
    except ProviderUnauthorized:
        return {**_result(), "reason": "unauthorized"}
    author = await _author(session, opened.owner.service, facts.pull.author)
    updated = await _save_pull(session, repoid, pullid, facts, author)
    merged = await _mark_merged(session, repoid, pullid, facts) if facts.really_merged else 0
    deleted = await _soft_delete(session, repoid, pullid, facts)
    if should_send_notifications:
        await schedule(NOTIFY, repoid=repoid, commitid=facts.pull.head_sha)
    return _result(updated=updated, merged=merged, deleted=deleted, notified=should_send_notifications)


async def read_pull(opened: RepoOnProvider, storage: ArchiveStorage, pullid: int) -> PullFacts:
    provider, ref = opened.provider, opened.ref
    pull = await provider.get_pull(ref, pullid)
    commits = tuple(await provider.list_pull_commits(ref, pullid))
    really_merged = False
    if pull.state == "merged" and pull.merge_commit_sha:
        try:
            merge_commit = await provider.get_commit(ref, pull.merge_commit_sha)
            really_merged = pull.head_sha in merge_commit.parents
        except ProviderNotFound:
            really_merged = False  # cannot tell: do not claim the commits reached the base branch
    return PullFacts(pull, commits, really_merged, await pull_diff(storage, opened, pull))


async def _author(session: AsyncSession, service: str, user: UserRef | None) -> int | None:
    """The pull author's owners row (created when new, username refreshed when it changed)."""
    if user is None:
        return None
    known = select(Owner).where(Owner.service == service, Owner.service_id == user.service_id)
    owner = await session.scalar(known)
    if owner is not None:
        if owner.username != user.username:
            owner.username, owner.updatestamp = user.username, datetime.now(UTC)
            await session.flush()
        return owner.ownerid
    statement = insert(Owner).values(service=service, service_id=user.service_id, username=user.username)
    statement = statement.on_conflict_do_nothing(index_elements=[Owner.service, Owner.service_id])
    await session.execute(statement)
    return (await session.scalars(known.with_only_columns(Owner.ownerid))).one()


async def _save_pull(session: AsyncSession, repoid: int, pullid: int, facts: PullFacts, author: int | None) -> bool:
    """Upsert the pull row under its lock; True when anything changed."""
    await session.execute(insert(Pull).values(repoid=repoid, pullid=pullid).on_conflict_do_nothing())
    locked = select(Pull).where(Pull.repoid == repoid, Pull.pullid == pullid).with_for_update()
    row = (await session.scalars(locked.execution_options(populate_existing=True))).one()
    pull = facts.pull
    wanted: dict[str, Any] = {
        "state": pull.state,
        "title": pull.title,
        "base": pull.base_sha,
        "head": pull.head_sha,
        "author": author,
        "diff": facts.diff,
    }
    changed = [field for field, value in wanted.items() if getattr(row, field) != value]
    for field in changed:
        setattr(row, field, wanted[field])
    if "diff" in changed and facts.diff is None:
        row.diff = null()  # SQL NULL, not JSON 'null'
    if changed:
        row.updatestamp = datetime.now(UTC)
        await session.flush()
    return bool(changed)


async def _mark_merged(session: AsyncSession, repoid: int, pullid: int, facts: PullFacts) -> int:
    base_branch = facts.pull.base_branch
    statement = (
        update(Commit)
        .where(Commit.repoid == repoid, Commit.pullid == pullid, Commit.commitid.in_(facts.commits))
        .where((Commit.merged.is_not(True)) | Commit.branch.is_distinct_from(base_branch))
        .values(merged=True, branch=base_branch, updatestamp=datetime.now(UTC))
    )
    return await count_rows(session, statement)


async def _soft_delete(session: AsyncSession, repoid: int, pullid: int, facts: PullFacts) -> int:
    if len(facts.commits) >= PULL_COMMITS_LIMIT:
        return 0
    kept = [*facts.commits, facts.pull.merge_commit_sha or facts.pull.head_sha]
    statement = (
        update(Commit)
        .where(Commit.repoid == repoid, Commit.pullid == pullid, Commit.commitid.not_in(kept))
        .where(Commit.deleted.is_not(True))
        .values(deleted=True, updatestamp=datetime.now(UTC))
    )
    return await count_rows(session, statement)
