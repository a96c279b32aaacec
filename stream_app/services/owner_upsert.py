"""Upsert owners by (service, service_id) from what the provider says about them.

The one way the owner-sync tasks (SyncTeams, SyncRepos, SyncPlans) create or refresh `owners`
rows. Rows are read first and only new or changed owners are written, so a re-sync with no
changes neither rewrites nor locks a row. The write is `INSERT ... ON CONFLICT (service,
service_id) DO UPDATE ... WHERE (columns) IS DISTINCT FROM (excluded columns)`, which also
absorbs a concurrent transaction inserting the same owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Owner
from stream_app.providers.types import OwnerInfo

# The profile columns an OwnerInfo fills; `refresh` picks which of them an existing row takes.
PROFILE = ("username", "name", "email", "avatar_url")


async def upsert_owners(
    session: AsyncSession, service: str, infos: Iterable[OwnerInfo], *, refresh: Sequence[str] = PROFILE
) -> dict[str, int]:
    """The ownerid of every given account, keyed by service_id.

    New owners are inserted with every profile field of their info; existing ones get the
    `refresh` columns set to the info's values where they differ (None included: a profile
    field the provider no longer shows is cleared), and `updatestamp` bumped.
    """
    wanted = {info.service_id: info for info in infos}
    if not wanted:
        return {}
    unknown = set(refresh) - set(PROFILE)
    if unknown:
        raise ValueError(f"cannot refresh {sorted(unknown)}: not owner profile columns")
    ids, stale = await _read(session, service, wanted, refresh)
    changed = stale + [info for sid, info in wanted.items() if sid not in ids]
    if changed:
        ids |= await _write(session, service, changed, refresh)
        missing = {sid: wanted[sid] for sid in wanted if sid not in ids}
        if missing:  # inserted meanwhile by another transaction, identical to ours
            found, _ = await _read(session, service, missing, ())
            ids |= found
    return ids


async def _read(
    session: AsyncSession, service: str, wanted: dict[str, OwnerInfo], refresh: Sequence[str]
) -> tuple[dict[str, int], list[OwnerInfo]]:
    """Existing ownerids, and the infos whose `refresh` columns differ from the stored row."""
    columns = [getattr(Owner, name) for name in refresh]
    query = select(Owner.ownerid, Owner.service_id, *columns).where(
        Owner.service == service, Owner.service_id.in_(list(wanted))
    )
    ids: dict[str, int] = {}
    stale: list[OwnerInfo] = []
    for row in await session.execute(query):
        ids[row.service_id] = row.ownerid
        info = wanted[row.service_id]
        if any(getattr(row, name) != getattr(info, name) for name in refresh):
            stale.append(info)
    return ids, stale


async def _write(session: AsyncSession, service: str, infos: list[OwnerInfo], refresh: Sequence[str]) -> dict[str, int]:
    rows = [_values(service, info) for info in sorted(infos, key=lambda i: i.service_id)]  # one lock order
    statement = insert(Owner).values(rows)
    if refresh:
        current = tuple_(*(getattr(Owner, name) for name in refresh))
        incoming = tuple_(*(statement.excluded[name] for name in refresh))
        updates: dict[str, Any] = {name: statement.excluded[name] for name in refresh}
        statement = statement.on_conflict_do_update(
            index_elements=[Owner.service, Owner.service_id],
            set_={**updates, "updatestamp": func.now()},
            where=current.is_distinct_from(incoming),
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=[Owner.service, Owner.service_id])
    result = await session.execute(statement.returning(Owner.ownerid, Owner.service_id))
    return {row.service_id: row.ownerid for row in result}


def _values(service: str, info: OwnerInfo) -> dict[str, Any]:
    return {"service": service, "service_id": info.service_id} | {name: getattr(info, name) for name in PROFILE}
