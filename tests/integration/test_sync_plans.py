"""SyncPlans' service against real PostgreSQL and the fake GitHub's marketplace (app JWT over real HTTP)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.errors import PermanentError
from stream_app.models import Owner, Repo
from stream_app.providers.errors import ProviderRateLimited, ProviderServerError
from stream_app.providers.github_app import GithubApp
from stream_app.services.plans import sync_plans
from stream_app.settings import Settings
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import (  # noqa: F401
    APP_ID,
    app_private_key,
    fake_github,
    github_app,
    provider_http,
    provider_settings,
)

pytestmark = pytest.mark.db

Sessions = async_sessionmaker[AsyncSession]
Run = Callable[..., Awaitable[dict[str, Any]]]
MakeOwner = Callable[..., Awaitable[int]]


@pytest.fixture
def gh(fake_github: FakeGitHub, github_app: GithubApp) -> FakeGitHub:  # noqa: F811 - github_app registers the app
    fake_github.add_user("alice")
    fake_github.add_org("acme", members=["alice"])
    return fake_github


def account(gh: FakeGitHub, login: str) -> dict[str, Any]:
    """The webhook's view of an account: id, login, type (no profile)."""
    acc = gh.accounts[login]
    return {"id": acc.id, "login": login, "type": acc.type, "node_id": f"N_{acc.id}"}


@pytest.fixture
def run(
    gh: FakeGitHub,
    session_factory: Sessions,
    provider_http: httpx.AsyncClient,  # noqa: F811
    provider_settings: Settings,  # noqa: F811
    github_app: GithubApp,  # noqa: F811
) -> Run:
    async def sync(action: str = "purchased", login: str = "acme", **kwargs: Any) -> dict[str, Any]:
        sender = account(gh, "alice") | {"avatar_url": "https://avatars.example/alice"}
        async with session_factory.begin() as s:
            return await sync_plans(
                s,
                sender=kwargs.pop("sender", sender),
                account=kwargs.pop("account", account(gh, login)),
                action=action,
                http=provider_http,
                settings=provider_settings,
                app=github_app,
            )

    return sync


async def owner(sessions: async_sessionmaker[AsyncSession], login: str) -> Owner:
    async with sessions() as s:
        row = await s.scalar(select(Owner).where(Owner.username == login))
        assert row is not None
        return row


async def activated(sessions: async_sessionmaker[AsyncSession], ownerid: int) -> list[bool]:
    async with sessions() as s:
        return list(await s.scalars(select(Repo.activated).where(Repo.ownerid == ownerid).order_by(Repo.repoid)))


async def versions(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessions() as s:
        query = "SELECT 'o', ownerid, xmin::text FROM owners UNION ALL SELECT 'r', repoid, xmin::text FROM repos"
        return sorted(tuple(r) for r in await s.execute(text(query)))


@pytest.fixture
def paid_acme(gh: FakeGitHub, session_factory: Sessions) -> MakeOwner:
    async def create(**overrides: Any) -> int:
        values: dict[str, Any] = {"service_id": str(gh.accounts["acme"].id), "username": "acme", "plan": "users"}
        values |= {"plan_provider": "github", "plan_user_count": 10, "plan_activated_users": [3, 4]}
        async with session_factory.begin() as s:
            ownerid = await create_owner(s, **(values | overrides))
            for _ in range(2):
                await create_repo(s, ownerid=ownerid, activated=True)
        return ownerid

    return create


async def test_a_paid_plan_is_synced_and_both_owners_upserted(
    gh: FakeGitHub, run: Run, session_factory: Sessions
) -> None:
    gh.add_marketplace_account("acme", price_model="PER_UNIT", unit_count=12)

    result = await run("purchased")

    acme = await owner(session_factory, "acme")
    assert result == {"plan_type_synced": "paid", "plan_removed": False, "ownerid": acme.ownerid}
    assert (acme.plan, acme.plan_provider, acme.plan_user_count, acme.plan_auto_activate) == (
        "users",
        "github",
        12,
        True,
    )
    assert acme.service_id == str(gh.accounts["acme"].id)
    alice = await owner(session_factory, "alice")
    assert (alice.service, alice.avatar_url) == ("github", "https://avatars.example/alice")
    [request] = gh.requests
    assert request.path == f"/marketplace_listing/accounts/{gh.accounts['acme'].id}"
    assert request.token is not None and request.token.count(".") == 2  # the app's JWT


async def test_a_free_trial_of_a_paid_plan_counts_as_paid(gh: FakeGitHub, run: Run, session_factory: Sessions) -> None:
    gh.add_marketplace_account("acme", price_model="FLAT_RATE", unit_count=0, trial=True)

    assert (await run("changed"))["plan_type_synced"] == "paid"


async def test_a_cancellation_moves_to_the_free_plan_and_deactivates_repos(
    gh: FakeGitHub, run: Run, paid_acme: MakeOwner, session_factory: Sessions
) -> None:
    ownerid = await paid_acme()

    result = await run("cancelled")

    assert result == {"plan_type_synced": "free", "plan_removed": True, "ownerid": ownerid, "repos_deactivated": 2}
    acme = await owner(session_factory, "acme")
    assert (acme.plan, acme.plan_user_count, acme.plan_activated_users) == ("users-free", 5, None)
    assert await activated(session_factory, ownerid) == [False, False]
    assert gh.count("GET", "/marketplace_listing") == 0


async def test_an_account_unknown_to_the_marketplace_moves_to_the_free_plan(
    gh: FakeGitHub, run: Run, paid_acme: MakeOwner, session_factory: Sessions
) -> None:
    ownerid = await paid_acme()

    result = await run("changed")

    assert (result["plan_type_synced"], result["plan_removed"]) == ("free", True)
    assert (await owner(session_factory, "acme")).plan == "users-free"
    assert await activated(session_factory, ownerid) == [False, False]


async def test_a_free_marketplace_plan_is_the_free_plan(gh: FakeGitHub, run: Run, session_factory: Sessions) -> None:
    gh.add_marketplace_account("acme", plan="Free", price_model="FREE", unit_count=0)

    result = await run("purchased")

    assert (result["plan_type_synced"], result["plan_removed"]) == ("free", False)  # a new owner had no plan


@pytest.mark.parametrize("action", ["purchased", "cancelled"])
async def test_sync_plans_twice_is_a_no_op(
    gh: FakeGitHub, run: Run, paid_acme: MakeOwner, session_factory: Sessions, action: str
) -> None:
    gh.add_marketplace_account("acme", unit_count=10)
    await paid_acme(plan_auto_activate=False)
    first = await run(action)
    before = await versions(session_factory)

    second = await run(action)

    assert second["plan_type_synced"] == first["plan_type_synced"]
    assert second["plan_removed"] is False
    assert await versions(session_factory) == before


async def test_an_app_the_marketplace_rejects_changes_no_plan(
    gh: FakeGitHub, run: Run, paid_acme: MakeOwner, session_factory: Sessions
) -> None:
    ownerid = await paid_acme()
    gh.apps.pop(APP_ID)  # the app's key no longer verifies: every JWT is refused

    assert await run("changed") == {"reason": "unauthorized", "ownerid": ownerid}
    acme = await owner(session_factory, "acme")
    assert (acme.plan, acme.plan_activated_users) == ("users", [3, 4])


async def test_rate_limit_is_retried_at_the_reset_time(gh: FakeGitHub, run: Run, session_factory: Sessions) -> None:
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=3)
    gh.rate_limit(reset_at=reset)

    with pytest.raises(ProviderRateLimited) as caught:
        await run("purchased")

    assert caught.value.at == reset
    async with session_factory() as s:  # the record's transaction rolled back
        assert (await s.scalars(select(Owner))).all() == []


async def test_server_error_is_retried(gh: FakeGitHub, run: Run) -> None:
    gh.fail_next(500, path="/marketplace_listing/")

    with pytest.raises(ProviderServerError):
        await run("purchased")


async def test_an_event_without_an_account_id_is_a_permanent_error(gh: FakeGitHub, run: Run) -> None:
    with pytest.raises(PermanentError) as caught:
        await run("purchased", account={"login": "acme"})

    assert caught.value.code == "invalid_account"
    assert gh.requests == []


async def test_the_owner_token_is_not_needed_nor_touched(
    gh: FakeGitHub,
    run: Run,
    paid_acme: MakeOwner,
    session_factory: Sessions,
    provider_settings: Settings,  # noqa: F811
) -> None:
    stored = encrypt_token("gho_acme", provider_settings.encryption_key)
    await paid_acme(oauth_token=stored)
    gh.add_marketplace_account("acme")

    await run("changed")

    assert (await owner(session_factory, "acme")).oauth_token == stored
    assert {r.token for r in gh.requests} != {"gho_acme"}
