"""One page of a repo listing into `repos`: owners first, then a plan (repo_sync_plan), then bulk writes.

Round trips per page: owners read (+ a write when an owner is new or renamed), repos read
(+ one executemany UPDATE when rows changed, + one INSERT when repos are new). Forks new to
us also get their parent upserted (one provider request each when the listing left it out).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Integer, Table, Text, and_, bindparam, func, select, tuple_, union, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias

from stream_app.models import Owner, Repo
from stream_app.providers import Provider, ProviderNotFound, ProviderUnauthorized
from stream_app.providers.types import OwnerInfo, RepoInfo
from stream_app.services.owner_upsert import upsert_owners
from stream_app.services.repo_sync_plan import PagePlan, RepoRow, plan_page

log = logging.getLogger(__name__)
PARENT_FETCHES = 8  # concurrent provider requests for fork parents
REPOS: Table = Repo.__table__  # type: ignore[assignment]


async def sync_page(
    session: AsyncSession, provider: Provider, service: str, page: Sequence[RepoInfo], *, using_integration: bool
) -> dict[str, int]:
    """Upsert the page's repos (and their owners, and new forks' parents); repoid per service_id."""
    ids, new = await upsert_repos(session, service, page, using_integration=using_integration)
    parents = await _parents([info for info in page if info.service_id in new and info.fork], provider)
    parents = [p for p in parents if p.service_id not in ids]
    if parents:
        await upsert_repos(session, service, parents, using_integration=False)
    return ids


async def upsert_repos(
    session: AsyncSession, service: str, repos: Sequence[RepoInfo], *, using_integration: bool
) -> tuple[dict[str, int], set[str]]:
    """The repoid of each repo by service_id, and the service_ids that were inserted."""
    owners = await upsert_owners(
        session, service, (OwnerInfo(r.owner.service_id, r.owner.username) for r in repos), refresh=("username",)
    )
    listed = [(owners[info.owner.service_id], info) for info in repos]
    plan = plan_page(await _load_rows(session, service, listed), listed, using_integration=using_integration)
    await _update(session, plan)
    inserted = await _insert(session, plan)
    return plan.repoids | inserted, set(inserted)


async def _load_rows(session: AsyncSession, service: str, listed: list[tuple[int, RepoInfo]]) -> list[RepoRow]:
    """The rows a page may touch: same service_id under any owner of the service, or same (owner, name).

    The page's keys are array parameters joined through unnest(): the statement text stays the
    same for every page (prepared once per connection) and PostgreSQL's generic plan hash-joins
    them, where `= ANY($1)` would compare every row with every key.
    """
    if not listed:
        return []
    columns = [REPOS.c[name] for name in RepoRow.__dataclass_fields__]
    sids = _unnest("by_sid", service_id=(ARRAY(Text), [info.service_id for _, info in listed]))
    by_service_id = (
        select(*columns)
        .join(sids, REPOS.c.service_id == sids.c.service_id)
        .join(Owner, Owner.ownerid == REPOS.c.ownerid)
        .where(Owner.service == service)
    )
    names = _unnest(
        "by_name",
        ownerid=(ARRAY(Integer), [ownerid for ownerid, _ in listed]),
        name=(ARRAY(Text), [info.name for _, info in listed]),
    )
    by_name = select(*columns).join(names, and_(REPOS.c.ownerid == names.c.ownerid, REPOS.c.name == names.c.name))
    rows = await session.execute(union(by_service_id, by_name))
    return [RepoRow(**row._asdict()) for row in rows]


def _unnest(alias: str, **arrays: tuple[ARRAY[Any], list[Any]]) -> TableValuedAlias:
    """`unnest(:a, :b) AS alias(a, b)`: parallel array parameters as a table."""
    params = [bindparam(f"{alias}_{name}", values, type_=kind) for name, (kind, values) in arrays.items()]
    return func.unnest(*params).table_valued(*arrays).render_derived(name=alias)


async def _update(session: AsyncSession, plan: PagePlan) -> None:
    if not plan.updates:
        return
    values: dict[str, Any] = {column: bindparam(f"v_{column}") for column in plan.columns}
    statement = update(REPOS).where(REPOS.c.repoid == bindparam("v_repoid"))
    statement = statement.values({**values, "updatestamp": func.now()})
    # One executemany, in plan order: a row moved aside frees its name before another takes it.
    await session.execute(statement, [{f"v_{k}": v for k, v in row.items()} for row in plan.updates])


async def _insert(session: AsyncSession, plan: PagePlan) -> dict[str, int]:
    """Insert the plan's new repos; a concurrent insert of the same repo is updated instead."""
    if not plan.inserts:
        return {}
    statement = insert(REPOS).values(plan.inserts)
    columns = [c for c in plan.columns if c not in ("ownerid", "service_id")]
    current = tuple_(*(REPOS.c[c] for c in columns))
    statement = statement.on_conflict_do_update(
        index_elements=[REPOS.c.ownerid, REPOS.c.service_id],
        set_={**{c: statement.excluded[c] for c in columns}, "updatestamp": func.now()},
        where=current.is_distinct_from(tuple_(*(statement.excluded[c] for c in columns))),
    )
    result = await session.execute(statement.returning(REPOS.c.repoid, REPOS.c.service_id))
    ids = {row.service_id: row.repoid for row in result}
    missing = [(row["ownerid"], row["service_id"]) for row in plan.inserts if row["service_id"] not in ids]
    if missing:  # inserted meanwhile by another transaction, identical to ours
        query = select(REPOS.c.repoid, REPOS.c.service_id).where(
            tuple_(REPOS.c.ownerid, REPOS.c.service_id).in_(missing)
        )
        ids |= {row.service_id: row.repoid for row in await session.execute(query)}
    return ids


async def _parents(forks: list[RepoInfo], provider: Provider) -> list[RepoInfo]:
    """The parents of these forks: given by the listing, or read from the provider (best effort)."""
    limit = asyncio.Semaphore(PARENT_FETCHES)

    async def parent(fork: RepoInfo) -> RepoInfo | None:
        if fork.parent is not None:
            return fork.parent
        async with limit:
            try:
                return (await provider.get_repo(fork.ref)).parent
            except (ProviderNotFound, ProviderUnauthorized) as exc:
                log.info("fork %s: parent not readable (%s), skipped", fork.service_id, exc.status)
                return None

    found = await asyncio.gather(*(parent(fork) for fork in forks))
    return list({p.service_id: p for p in found if p is not None}.values())
