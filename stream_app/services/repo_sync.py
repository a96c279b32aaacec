"""app.tasks.sync_repos.SyncRepos: the repos an owner can see, page by page, and its `permission`.

Page by page, inside the record's one transaction. The pipeline commits once per record
(ledger row, task writes and follow-ups together: that is what makes a redelivery a no-op), and
services never commit, so "commit page by page" cannot mean a durable commit per page here.
What the task does instead:

- Each listing page is written as soon as it arrives, inside its own SAVEPOINT, with a few bulk
  statements. Memory stays bounded by one page (only the repoids seen so far are kept), and a
  page whose write trips over a concurrent sync (a unique violation on (ownerid, name)) is
  rolled back alone and written again from a fresh read, without re-reading earlier pages.
- A provider failure cuts the sync short at the page it happened on: a revoked token (401) or
  a 404 keeps the pages already written (their facts are true) and returns a clear reason,
  without touching `permission`; a rate limit or a 5xx rolls the whole record back and the
  pipeline runs it again (at the provider's reset time for a rate limit), from page 1: the
  price of one transaction is provider requests repeated, never partial or duplicated rows.
  (bench/sync_repos.py: 5,000 repos in 50 pages is one transaction of a few seconds, almost
  all of it waiting on the provider; an unchanged re-sync writes no row.)
- Durable progress across records would need a page cursor in SyncRepos' args (an optional v1
  field) and a provider listing that starts at a cursor: both are outside this module.

`permission` becomes exactly the listed private repoids (user mode only: an installation's list
says what the app may see, not what the user may see). With `using_integration`, the listed
repos get `using_integration=true` and the owner's other repos false.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import ARRAY, Integer, all_, bindparam, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Owner, Repo
from stream_app.providers import Provider, ProviderNotFound, ProviderUnauthorized, Token, get_provider
from stream_app.providers.github_app import GithubApp, default_github_app
from stream_app.providers.types import RepoInfo
from stream_app.services.repo_sync_page import sync_page
from stream_app.settings import Settings
from stream_app.tokens import installation_token, token_for_owner

log = logging.getLogger(__name__)
PAGE_ATTEMPTS = 2  # a page's write is tried again once after a unique violation


@dataclass
class Listing:
    """What the sync has seen so far: listed repoids in order, and the private ones."""

    repoids: list[int] = field(default_factory=list)
    private: set[int] = field(default_factory=set)
    service_ids: set[str] = field(default_factory=set)
    pages: int = 0

    def fresh(self, page: list[RepoInfo]) -> list[RepoInfo]:
        """The page without repos listed already (a listing shifting while it is paged)."""
        unique = {info.service_id: info for info in page if info.service_id not in self.service_ids}
        self.service_ids |= set(unique)
        return list(unique.values())

    def add(self, page: list[RepoInfo], ids: dict[str, int]) -> None:
        """Record a written page (a repo the plan had to skip, see repo_sync_plan, has no id)."""
        self.pages += 1
        written = [info for info in page if info.service_id in ids]
        self.repoids += [ids[info.service_id] for info in written]
        self.private |= {ids[info.service_id] for info in written if info.private}


async def sync_repos(
    session: AsyncSession,
    *,
    ownerid: int,
    http: httpx.AsyncClient,
    settings: Settings,
    using_integration: bool = False,
    app: GithubApp | None = None,
) -> dict[str, Any]:
    """Returns {"repoids": [...], "private_repoids": [...]}, or {"reason": ...}."""
    owner = await session.get(Owner, ownerid)
    if owner is None:
        return {"reason": "owner_not_found"}
    if using_integration:
        token = await installation_token(owner, http=http, settings=settings, app=app)
    else:  # /user/repos lists the token holder's repos: never a bot's
        token = await token_for_owner(session, owner, http=http, settings=settings, allow_bot=False)
    if token is None:
        return {"reason": "no_valid_bot"}
    provider = get_provider(owner.service, token=token, http=http, settings=settings)
    listing = Listing()
    try:
        await _sync_pages(session, provider, owner.service, listing, using_integration=using_integration)
    except ProviderUnauthorized as exc:
        log.info("owner %s: %s token rejected listing repos (%s)", ownerid, token.source, exc.status)
        _forget_installation(owner, token, settings, app)
        return {"reason": "unauthorized", "pages_synced": listing.pages}
    except ProviderNotFound:
        return {"reason": "not_found", "pages_synced": listing.pages}
    if using_integration:
        await _unmark_unlisted(session, ownerid, listing.repoids)
    else:
        await _set_permission(session, ownerid, sorted(listing.private))
    return {"repoids": listing.repoids, "private_repoids": sorted(listing.private)}


async def _sync_pages(
    session: AsyncSession, provider: Provider, service: str, listing: Listing, *, using_integration: bool
) -> None:
    pages = provider.list_installation_repos() if using_integration else provider.list_repos()
    async for page in pages:
        fresh = listing.fresh(page)
        listing.add(fresh, await _write_page(session, provider, service, fresh, using_integration=using_integration))


async def _write_page(
    session: AsyncSession, provider: Provider, service: str, page: list[RepoInfo], *, using_integration: bool
) -> dict[str, int]:
    """One page in its own savepoint; after a unique violation (a concurrent sync) it is written again."""
    attempt = 1
    while True:
        try:
            async with session.begin_nested():
                return await sync_page(session, provider, service, page, using_integration=using_integration)
        except IntegrityError:
            if attempt >= PAGE_ATTEMPTS:
                raise
            attempt += 1
            log.info("a repo page collided with a concurrent write; writing it again")


async def _set_permission(session: AsyncSession, ownerid: int, private: list[int]) -> None:
    await session.execute(
        update(Owner)
        .where(Owner.ownerid == ownerid, Owner.permission.is_distinct_from(private))
        .values(permission=private, updatestamp=func.now())
        .execution_options(synchronize_session=False)
    )


async def _unmark_unlisted(session: AsyncSession, ownerid: int, listed: list[int]) -> None:
    listed_ids = bindparam("listed", listed, type_=ARRAY(Integer))  # one array parameter, any length
    await session.execute(
        update(Repo)
        .where(Repo.ownerid == ownerid, Repo.using_integration.is_(True), Repo.repoid != all_(listed_ids))
        .values(using_integration=False, updatestamp=func.now())
        .execution_options(synchronize_session=False)
    )


def _forget_installation(owner: Owner, token: Token, settings: Settings, app: GithubApp | None) -> None:
    """A rejected installation token is dropped from the cache, so the next run mints a new one."""
    if token.source == "installation" and owner.integration_id is not None:
        (app or default_github_app()).forget(owner.integration_id, api_url=settings.github_api_url)
