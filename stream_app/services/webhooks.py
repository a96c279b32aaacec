"""RemoveOldHook: delete the repo's webhook on the provider and forget its id.

The repo row is locked first, so two records for one repo run one after the other and the
second finds `hookid` already cleared: the provider sees one DELETE. A hook that is already
gone (404) counts as removed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.providers import ProviderUnauthorized
from stream_app.services.repo_provider import ProviderSetup, Unavailable, connect_repo, load_repo


async def remove_old_hook(session: AsyncSession, setup: ProviderSetup, *, repoid: int) -> dict[str, Any]:
    """Returns {"removed": bool} (+ "already_gone" when the provider no longer had it, "reason" when not removed)."""
    loaded = await load_repo(session, repoid, lock=True)
    if isinstance(loaded, Unavailable):
        return {"removed": False, "reason": loaded.reason}
    repo, owner = loaded
    hookid = repo.hookid
    if hookid is None:
        return {"removed": False, "reason": "no_hook"}
    opened = await connect_repo(session, setup, repo, owner)
    if isinstance(opened, Unavailable):
        return {"removed": False, "reason": opened.reason}
    try:
        deleted = await opened.provider.delete_hook(opened.ref, hookid)
    except ProviderUnauthorized as exc:  # the token may not manage hooks (or was revoked)
        return {"removed": False, "reason": "unauthorized", "status": exc.status}
    repo.hookid, repo.updatestamp = None, datetime.now(UTC)
    await session.flush()
    return {"removed": True} if deleted else {"removed": True, "already_gone": True}
