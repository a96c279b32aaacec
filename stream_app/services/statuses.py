"""SetPending and SetError: the coverage statuses of a commit before and instead of a Notify.

Both read the commit's statuses on the provider first: SetPending posts `pending` only on the
applicable statuses not posted yet, SetError changes only statuses already posted, and neither
re-posts a status that already says the same thing, so a rerun posts nothing new.

The config is the commit's codecov.yml (read through the provider at the commit) over the
repo's and owner's stored yaml; an invalid layer is left out and reported in `yaml_errors`.
Transient provider failures (5xx, timeouts, rate limits) propagate as `RetryLater`; a refused
token ends with `no_valid_bot` and a 404 (repo or commit gone, or hidden) with
`not_found_on_provider`, both as results rather than dead letters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.config import ResolvedConfig, fetch_commit_yaml, resolve_config
from stream_app.providers import ProviderNotFound, ProviderUnauthorized
from stream_app.providers.types import StatusInfo
from stream_app.services import status_rules as rules
from stream_app.services.repo_provider import ProviderSetup, RepoOnProvider, Unavailable, open_repo

Result = dict[str, Any]


@dataclass
class _Run:
    """One task's repo on its provider, and what was posted so far (kept if a later call fails)."""

    on: RepoOnProvider
    commitid: str
    posted: list[str] = field(default_factory=list)
    yaml_errors: list[str] = field(default_factory=list)


async def set_pending(
    session: AsyncSession,
    *,
    repoid: int,
    commitid: str,
    branch: str | None,
    on_a_pull_request: bool,
    setup: ProviderSetup,
) -> Result:
    """`pending` on each applicable status not yet posted. Returns {"status_set", "contexts", ...}."""

    async def updates(run: _Run, posted: dict[str, StatusInfo]) -> list[rules.StatusUpdate]:
        config = await _config(run)
        return rules.pending_updates(config.config, branch=branch, on_a_pull_request=on_a_pull_request, posted=posted)

    return await _run(session, repoid=repoid, commitid=commitid, setup=setup, updates=updates)


async def set_error(
    session: AsyncSession, *, repoid: int, commitid: str, message: str | None, setup: ProviderSetup
) -> Result:
    """The CI-failed state on each enabled status already posted. Returns {"status_set", "contexts", ...}."""

    async def updates(run: _Run, posted: dict[str, StatusInfo]) -> list[rules.StatusUpdate]:
        if not posted:  # nothing of ours on the commit: no need to read the config
            return []
        config = await _config(run)
        return rules.error_updates(config.config, message=message, posted=posted)

    return await _run(session, repoid=repoid, commitid=commitid, setup=setup, updates=updates)


Updates = Callable[[_Run, dict[str, StatusInfo]], Awaitable[list[rules.StatusUpdate]]]


async def _run(session: AsyncSession, *, repoid: int, commitid: str, setup: ProviderSetup, updates: Updates) -> Result:
    opened = await open_repo(session, setup, repoid=repoid)
    if isinstance(opened, Unavailable):
        return {"status_set": False, "reason": opened.reason}
    run, provider, ref = _Run(opened, commitid), opened.provider, opened.ref
    try:
        posted = rules.ours(rules.newest_by_context(await provider.list_statuses(ref, commitid)))
        for update in await updates(run, posted):
            await provider.set_commit_status(
                ref, commitid, state=update.state, context=update.context, description=update.description
            )
            run.posted.append(update.context)
    except ProviderUnauthorized:  # a revoked token, or one without push access
        return _result(run, reason="no_valid_bot")
    except ProviderNotFound:  # the repo or commit is gone, or hidden from the token
        return _result(run, reason="not_found_on_provider")
    return _result(run)


def _result(run: _Run, *, reason: str | None = None) -> Result:
    result: Result = {"status_set": bool(run.posted), "contexts": list(run.posted)}
    if run.yaml_errors:
        result["yaml_errors"] = list(run.yaml_errors)
    if reason is not None:
        result["reason"] = reason
    return result


async def _config(run: _Run) -> ResolvedConfig:
    """Defaults < owner yaml < repo yaml < the commit's codecov.yml; invalid layers are reported."""
    on = run.on
    found = await fetch_commit_yaml(on.provider, on.ref, ref=run.commitid)
    resolved = resolve_config(owner_yaml=on.owner.yaml, repo_yaml=on.repo.yaml, commit_yaml=found.data)
    errors = ([found.error] if found.error is not None else []) + list(resolved.errors)
    run.yaml_errors.extend(f"{e.source}: {e.message}" for e in errors)
    return resolved
