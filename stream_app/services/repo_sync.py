"""app.tasks.sync_repos.SyncRepos: the repos an owner can see, one page per record, and its `permission`.

A sync is a chain of records, one listing page each, so a huge account makes durable progress:
each record lists the page its `cursor` names (none: the first), writes that page's repos
(repo_sync_page, in a SAVEPOINT so a page that trips over a concurrent sync is written again
from a fresh read), and, when the provider has a next page, schedules the continuation record
through the outbox in the same transaction: its cursor, its page number, and what the last page
needs from the earlier ones (the private repoids seen, or in installation mode the listed
ones). Services never commit: each page commits with its record, ledger row and continuation
together, so a redelivered page record is a no-op and schedules nothing twice. The continuation
has the owner's key, so it runs after its predecessor, in the same lane.

The last page sets `permission` to exactly the private repoids of the whole chain (user mode
only: an installation's list says what the app may see, not what the user may see); with
`using_integration`, every page marks its repos `using_integration=true` and the last one
unmarks the owner's other repos.

Failures stop the chain at the page they happen on; earlier pages stay committed:
- 401/403 (`unauthorized`), 404 (`not_found`), a cursor not made by the provider for this
  listing (`invalid_cursor`, e.g. a record pointing at another host): a clear result, that
  page writes nothing and `permission` is untouched until the next full sync;
- a rate limit or a 5xx rolls back this record alone: the pipeline runs it again (at the
  reset time for a rate limit), which requests this page again, never the earlier ones.

Bounds: a record's size is capped (settings.max_record_bytes, 1 MiB), so the carried ids are
capped at half of it (`carry_limit`: 47,662 ids at 1 MiB). An account past that (tens of
thousands of private repos) still gets every page written, but the chain drops the exactness:
the private ids carried so far are added to `permission` and the carry restarts empty, and the
last page only adds (no revocation) in user mode and unmarks nothing in installation mode;
its result says `"exact": false`. A chain also stops after MAX_PAGES pages (a provider whose
next links loop), like a 401 would.

A worker that predates the continuation fields ignores them: it syncs the whole listing from
page 1 in one transaction and sets `permission` from it, which is still correct.

A repo that moves across a page boundary while the chain runs (a repo listed before it was
deleted) is listed on no page; before the last page revokes a private repo the owner had, it
asks the provider whether the user still sees it (repo_sync_confirm), so such a repo is kept.
Continuation fields are trusted like every record's args (producers are the web app and this
worker, behind the broker's ACLs): a crafted `private_seen` would grant what it names. The
cursor, which carries the owner's token to the provider, is checked (providers/paging.py).
A continuation's record id derives from its page's (`continuation_id`), so a replayed chain
runs each page once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import ARRAY, Integer, all_, bindparam, func, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Owner, Repo
from stream_app.providers import Provider, ProviderNotFound, ProviderUnauthorized, Token, get_provider
from stream_app.providers.github_app import GithubApp, default_github_app
from stream_app.providers.paging import InvalidCursor, RepoPage
from stream_app.providers.types import RepoInfo
from stream_app.services.repo_sync_confirm import permission_to_set
from stream_app.services.repo_sync_page import sync_page
from stream_app.settings import Settings
from stream_app.task_args import SyncReposV1
from stream_app.tokens import installation_token, token_for_owner

log = logging.getLogger(__name__)
Schedule = Callable[..., Awaitable[str]]  # schedule(task, key=None, *, record_id=None, **args): via the outbox
SYNC_REPOS = "app.tasks.sync_repos.SyncRepos"
PAGE_ATTEMPTS = 2  # a page's write is tried again once after a unique violation
MAX_PAGES = 10_000  # 1,000,000 repos at 100 a page
ID_JSON_CHARS = 11  # a repoid in a JSON list: up to 10 digits and a comma
_CHAIN = uuid.UUID("5b0f3c9e-2a4d-4c61-9a57-0d2e6f1b8c43")  # namespace of continuation ids
# Union without revoking, sorted; no write when every id is there already.
_GRANT = text(
    "UPDATE owners SET updatestamp = now(), "
    "permission = ARRAY(SELECT DISTINCT x FROM unnest(coalesce(permission, '{}') || :ids) AS x ORDER BY x) "
    "WHERE ownerid = :ownerid AND NOT coalesce(permission, '{}') @> :ids"
).bindparams(bindparam("ids", type_=ARRAY(Integer)))


def carry_limit(settings: Settings) -> int:
    """How many repoids a continuation may carry: half the record size limit (room for the rest)."""
    return settings.max_record_bytes // 2 // ID_JSON_CHARS


@dataclass(frozen=True)
class Written:
    """One page as written: its repoids in listing order, and the private ones."""

    repoids: list[int]
    private: list[int]


async def sync_repos(
    session: AsyncSession,
    args: SyncReposV1,
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    schedule: Schedule,
    record_id: str,
    app: GithubApp | None = None,
) -> dict[str, Any]:
    """One page. Returns {"page", "repoids", "private_repoids" (this page's), "continued", ...}
    or {"reason": ..., ...} (see `_stopped`)."""
    if args.page > MAX_PAGES:
        log.warning("owner %s: repo listing still going after %d pages; stopped", args.ownerid, MAX_PAGES)
        return _stopped("too_many_pages", args)
    owner = await session.get(Owner, args.ownerid)
    if owner is None:
        return {"reason": "owner_not_found"}
    if args.using_integration:
        token = await installation_token(owner, http=http, settings=settings, app=app)
    else:  # /user/repos lists the token holder's repos: never a bot's
        token = await token_for_owner(session, owner, http=http, settings=settings, allow_bot=False)
    if token is None:
        return {"reason": "no_valid_bot"}
    provider = get_provider(owner.service, token=token, http=http, settings=settings)
    try:
        page = await _list_page(provider, args)
    except ProviderUnauthorized as exc:
        log.info("owner %s: %s token rejected listing repos (%s)", owner.ownerid, token.source, exc.status)
        _forget_installation(owner, token, settings, app)
        return _stopped("unauthorized", args)
    except ProviderNotFound:
        return _stopped("not_found", args)
    except InvalidCursor as exc:
        log.warning("owner %s: repo listing refused: %s", owner.ownerid, exc.detail)
        return _stopped("invalid_cursor", args)
    written = await _write_page(session, provider, owner.service, page.repos, using_integration=args.using_integration)
    result: dict[str, Any] = {"page": args.page, "repoids": written.repoids, "private_repoids": written.private}
    seen = await _carry(session, args, written, settings)
    if page.next_cursor is not None:
        continuation = _continuation(args, seen, page.next_cursor).model_dump()
        await schedule(SYNC_REPOS, record_id=continuation_id(record_id), **continuation)
        return result | {"continued": True}
    return result | {"continued": False} | await _finish(session, provider, args, seen)


def continuation_id(record_id: str) -> str:
    """The next page's record id, derived from this page's: running a page record again (after
    `stream-app replay` forgot it) schedules the record the ledger already knows, so a replayed
    chain runs each page once instead of growing a new tail from every replayed page."""
    return str(uuid.uuid5(_CHAIN, record_id))


def _stopped(reason: str, args: SyncReposV1) -> dict[str, Any]:
    """The chain ends here without its last step; pages before this one stay written."""
    return {"reason": reason, "pages_synced": args.page - 1}


async def _list_page(provider: Provider, args: SyncReposV1) -> RepoPage:
    if args.using_integration:
        return await provider.list_installation_repos_page(args.cursor)
    return await provider.list_repos_page(args.cursor)


async def _write_page(
    session: AsyncSession, provider: Provider, service: str, listed: list[RepoInfo], *, using_integration: bool
) -> Written:
    """The page in its own savepoint; after a unique violation (a concurrent sync) it is written again."""
    page = list({info.service_id: info for info in listed}.values())  # a listing shifting under us repeats a repo
    attempt = 1
    while True:
        try:
            async with session.begin_nested():
                ids = await sync_page(session, provider, service, page, using_integration=using_integration)
            break
        except IntegrityError:
            if attempt >= PAGE_ATTEMPTS:
                raise
            attempt += 1
            log.info("a repo page collided with a concurrent write; writing it again")
    written = [info for info in page if info.service_id in ids]  # a repo the plan skipped has no id
    return Written([ids[i.service_id] for i in written], sorted(ids[i.service_id] for i in written if i.private))


@dataclass(frozen=True)
class Seen:
    """What the chain carries to its last page: ids of the pages so far (one list per mode)."""

    private: list[int]
    listed: list[int]
    exact: bool


async def _carry(session: AsyncSession, args: SyncReposV1, page: Written, settings: Settings) -> Seen:
    """The ids so far with this page's; past the carry limit they are spent now and the chain stops being exact."""
    private = sorted(set(args.private_seen) | set(page.private)) if not args.using_integration else []
    listed = sorted(set(args.listed_seen) | set(page.repoids)) if args.using_integration else []
    if len(private) + len(listed) <= carry_limit(settings):
        return Seen(private, listed, args.exact)
    log.warning("owner %s: over %d repoids to carry; permission will only grow", args.ownerid, carry_limit(settings))
    if private:
        await _grant(session, args.ownerid, private)
    return Seen([], [], exact=False)


def _continuation(args: SyncReposV1, seen: Seen, cursor: str) -> SyncReposV1:
    update = {"cursor": cursor, "page": args.page + 1, "exact": seen.exact}
    return args.model_copy(update=update | {"private_seen": seen.private, "listed_seen": seen.listed})


async def _finish(session: AsyncSession, provider: Provider, args: SyncReposV1, seen: Seen) -> dict[str, Any]:
    """The last page: `permission` (user mode) or the unlisted repos' mark (installation mode)."""
    if args.using_integration:
        if not seen.exact:
            return {"exact": False}
        await _unmark_unlisted(session, args.ownerid, seen.listed)
        return {"listed_total": len(seen.listed)}
    if not seen.exact:
        await _grant(session, args.ownerid, seen.private)
        return {"exact": False}
    private = await permission_to_set(session, provider, args.ownerid, seen.private)
    await _set_permission(session, args.ownerid, private)
    kept = len(private) - len(seen.private)
    return {"private_total": len(private)} | ({"kept_unlisted": kept} if kept else {})


async def _set_permission(session: AsyncSession, ownerid: int, private: list[int]) -> None:
    await session.execute(
        update(Owner)
        .where(Owner.ownerid == ownerid, Owner.permission.is_distinct_from(private))
        .values(permission=private, updatestamp=func.now())
        .execution_options(synchronize_session=False)
    )


async def _grant(session: AsyncSession, ownerid: int, private: list[int]) -> None:
    """Add to `permission`, revoking nothing (a chain past the carry limit)."""
    await session.execute(_GRANT, {"ownerid": ownerid, "ids": private})


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
