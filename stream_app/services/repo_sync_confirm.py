"""Before a SyncRepos chain revokes a private repo, ask the provider whether the user still sees it.

A chain lists the repos page by page over seconds to (after a rate limit) an hour; a repo that
moves across a page boundary meanwhile (one listed before it was deleted) is listed on no page.
Setting `permission` to exactly the listed ids would revoke such a repo although the user still
sees it. So the ids the owner had and the listing did not give are looked up one by one (a
`GET` each; revocations are few), and kept when the provider still shows the repo as private.
A provider that says 404 or 403 confirms the revocation. A rate limit or a 5xx fails the last
page's record, which the pipeline runs again (the pages before it stay committed).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Owner, Repo
from stream_app.providers import Provider, ProviderNotFound, ProviderUnauthorized
from stream_app.providers.types import RepoRef

MAX_LOOKUPS = 50  # more dropped repos than this is a real change of access: revoke without asking


async def permission_to_set(
    session: AsyncSession, provider: Provider, ownerid: int, listed: Sequence[int]
) -> list[int]:
    """The private repoids to store: the listed ones plus the dropped ones the provider still shows."""
    current = await session.scalar(select(Owner.permission).where(Owner.ownerid == ownerid)) or []
    dropped = sorted(set(current) - set(listed))
    if not dropped or len(dropped) > MAX_LOOKUPS:
        return sorted(set(listed))
    rows = await session.execute(
        select(Repo.repoid, Repo.name, Repo.service_id, Owner.username)
        .join(Owner, Owner.ownerid == Repo.ownerid)
        .where(Repo.repoid.in_(dropped))
    )
    kept = [
        row.repoid
        for row in rows
        if row.username and await _still_private(provider, RepoRef(row.username, row.name, row.service_id))
    ]
    return sorted({*listed, *kept})


async def _still_private(provider: Provider, ref: RepoRef) -> bool:
    try:
        info = await provider.get_repo(ref)
    except (ProviderNotFound, ProviderUnauthorized):
        return False
    return info.private
