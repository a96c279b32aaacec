"""app.tasks.ghm_sync_plans.SyncPlans: a GitHub Marketplace purchase event into the account's plan.

The sender and the account are upserted as owners (username refreshed). A `cancelled` event
moves the account to the free plan at once (GitHub sends it when the cancellation takes
effect). Any other action reads the account's plan with the app's JWT: a paid plan (flat rate
or per unit, free trials included) sets plan "users" with the purchased units; a FREE plan or
an account the marketplace does not know (404) moves it to the free plan.

The free plan is plan "users-free" with 5 users (the original service's free tier):
activated users are cleared and every repo of the account is deactivated. `plan_provider`
and `plan_auto_activate` are left as they were there. A rejected app JWT changes no plan
(a paying customer is never downgraded for our own misconfiguration): {"reason": "unauthorized"}.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.errors import PermanentError
from stream_app.models import Owner, Repo
from stream_app.providers import ProviderUnauthorized, get_provider
from stream_app.providers.github_app import GithubApp, default_github_app
from stream_app.providers.types import MarketplaceAccount, OwnerInfo
from stream_app.services.owner_upsert import upsert_owners
from stream_app.settings import Settings
from stream_app.task_args import JsonObject

SERVICE = "github"  # the marketplace is GitHub's
PAID_PLAN = "users"
FREE_PLAN = "users-free"
FREE_USERS = 5
PAID_PRICE_MODELS = frozenset({"FLAT_RATE", "PER_UNIT"})


async def sync_plans(
    session: AsyncSession,
    *,
    sender: JsonObject,
    account: JsonObject,
    action: str,
    http: httpx.AsyncClient,
    settings: Settings,
    app: GithubApp | None = None,
) -> dict[str, Any]:
    """Returns {"plan_type_synced": "paid"|"free", "plan_removed": bool, "ownerid"}, or {"reason": ...}."""
    account_info = _owner_info(account, "account")
    ids = await upsert_owners(session, SERVICE, [_owner_info(sender, "sender"), account_info], refresh=("username",))
    ownerid = ids[account_info.service_id]
    plan: MarketplaceAccount | None = None
    if action != "cancelled":
        provider = get_provider(SERVICE, token=(app or default_github_app()).app_token(), http=http, settings=settings)
        try:
            plan = await provider.get_marketplace_account(account_info.service_id)
        except ProviderUnauthorized:
            return {"reason": "unauthorized", "ownerid": ownerid}
    owner = await session.scalar(select(Owner).where(Owner.ownerid == ownerid).with_for_update())
    if owner is None:  # deleted by a concurrent DeleteOwner since the upsert
        return {"reason": "owner_not_found"}
    if plan is not None and plan.price_model in PAID_PRICE_MODELS:
        await _set_paid(session, owner, plan.unit_count)
        return {"plan_type_synced": "paid", "plan_removed": False, "ownerid": ownerid}
    removed = owner.plan is not None and owner.plan != FREE_PLAN
    deactivated = await _set_free(session, owner)
    return {"plan_type_synced": "free", "plan_removed": removed, "ownerid": ownerid, "repos_deactivated": deactivated}


def _owner_info(data: JsonObject, what: str) -> OwnerInfo:
    """A webhook's account object (GitHub's id and login) as provider account info."""
    service_id, login = data.get("id"), data.get("login")
    if not isinstance(service_id, int | str) or isinstance(service_id, bool) or not isinstance(login, str) or not login:
        raise PermanentError("invalid_account", f"{what} needs an id and a login")
    avatar = data.get("avatar_url")
    return OwnerInfo(str(service_id), login, avatar_url=avatar if isinstance(avatar, str) else None)


async def _set_paid(session: AsyncSession, owner: Owner, units: int | None) -> None:
    values = {"plan": PAID_PLAN, "plan_provider": "github", "plan_user_count": units, "plan_auto_activate": True}
    await _update_owner(session, owner, values)


async def _set_free(session: AsyncSession, owner: Owner) -> int:
    """Move the owner to the free plan and deactivate its repos; the number of repos deactivated."""
    values = {"plan": FREE_PLAN, "plan_user_count": FREE_USERS, "plan_activated_users": None}
    await _update_owner(session, owner, values)
    statement = update(Repo).where(Repo.ownerid == owner.ownerid, Repo.activated.is_(True))
    statement = statement.values(activated=False, updatestamp=func.now()).execution_options(synchronize_session=False)
    result = await session.execute(statement.returning(Repo.repoid))
    return len(result.all())


async def _update_owner(session: AsyncSession, owner: Owner, values: dict[str, Any]) -> None:
    """Write the values that differ (none: the row is not rewritten)."""
    changed = {name: value for name, value in values.items() if getattr(owner, name) != value}
    if changed:
        statement = update(Owner).where(Owner.ownerid == owner.ownerid).values(**changed, updatestamp=func.now())
        await session.execute(statement.execution_options(synchronize_session=False))
