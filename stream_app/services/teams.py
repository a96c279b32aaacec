"""app.tasks.sync_teams.SyncTeams: the organisations a user belongs to, and its `organizations`.

The listing uses the user's own token (a bot's would list the bot's orgs). Each org is upserted
by (service, service_id) with its profile refreshed; the user's `organizations` becomes exactly
the current list (rewritten only when the set changed). With `chain_sync_repos`, SyncRepos for
the same owner is scheduled through the outbox, in this transaction: like a Celery chain it
follows whenever this task finishes for an existing owner, whatever the result.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Owner
from stream_app.providers import ProviderNotFound, ProviderUnauthorized, get_provider
from stream_app.providers.types import OwnerInfo
from stream_app.services.owner_upsert import upsert_owners
from stream_app.settings import Settings
from stream_app.tokens import token_for_owner

log = logging.getLogger(__name__)
Schedule = Callable[..., Awaitable[str]]  # schedule(task, key=None, **args): a follow-up through the outbox
SYNC_REPOS = "app.tasks.sync_repos.SyncRepos"


async def sync_teams(
    session: AsyncSession,
    *,
    ownerid: int,
    http: httpx.AsyncClient,
    settings: Settings,
    schedule: Schedule,
    chain_sync_repos: bool = False,
    using_integration: bool = False,
) -> dict[str, Any]:
    """Returns {"orgs": [ownerid...], "removed": [ownerid...]}, or {"reason": ...}."""
    owner = await session.get(Owner, ownerid)
    if owner is None:
        return {"reason": "owner_not_found"}
    result = await _sync(session, owner, http=http, settings=settings)
    if chain_sync_repos:
        await schedule(SYNC_REPOS, ownerid=ownerid, username=owner.username, using_integration=using_integration)
        result["sync_repos_scheduled"] = True
    return result


async def _sync(session: AsyncSession, owner: Owner, *, http: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    token = await token_for_owner(session, owner, http=http, settings=settings, allow_bot=False)
    if token is None:
        return {"reason": "no_valid_bot"}
    provider = get_provider(owner.service, token=token, http=http, settings=settings)
    try:
        teams = await provider.list_teams()
    except ProviderUnauthorized as exc:
        log.info("owner %s: token rejected listing teams (%s)", owner.ownerid, exc.status)
        return {"reason": "unauthorized"}
    except ProviderNotFound:
        return {"reason": "not_found"}
    orgs = await _org_ids(session, owner.service, teams)
    removed = await _replace_organizations(session, owner.ownerid, orgs)
    return {"orgs": orgs, "removed": removed}


async def _org_ids(session: AsyncSession, service: str, teams: list[OwnerInfo]) -> list[int]:
    """The orgs' ownerids in the provider's order (each org once)."""
    ids = await upsert_owners(session, service, teams)
    return list(dict.fromkeys(ids[team.service_id] for team in teams))


async def _replace_organizations(session: AsyncSession, ownerid: int, orgs: list[int]) -> list[int]:
    """Set the owner's organizations to `orgs` when the set changed; the ownerids removed."""
    query = select(Owner.organizations).where(Owner.ownerid == ownerid).with_for_update()
    current = list(await session.scalar(query) or [])
    if set(current) == set(orgs):
        return []
    await session.execute(
        update(Owner).where(Owner.ownerid == ownerid).values(organizations=orgs, updatestamp=func.now())
    )
    return [org for org in current if org not in set(orgs)]
