"""SyncTeams' service against real PostgreSQL and the fake GitHub over real HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import OutboxRecord, Owner
from stream_app.pipeline import outbox
from stream_app.providers.errors import ProviderRateLimited, ProviderServerError
from stream_app.services.teams import sync_teams
from stream_app.settings import Settings
from stream_app.tokens import encrypt_token
from tests.factories import create_owner
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import app_private_key, fake_github, github_app, provider_http, provider_settings  # noqa: F401

pytestmark = pytest.mark.db

TOKEN = "gho_alice"
Sessions = async_sessionmaker[AsyncSession]
Run = Callable[..., Awaitable[dict[str, Any]]]
MakeOwner = Callable[..., Awaitable[int]]


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:  # noqa: F811
    fake_github.add_user("alice", token=TOKEN)
    fake_github.add_org("acme", members=["alice"], name="Acme Inc", email="hello@acme.test")
    fake_github.add_org("beta", members=["alice"], name="Beta")
    fake_github.add_org("gamma", members=["bob"])
    return fake_github


@pytest.fixture
def alice(gh: FakeGitHub, session_factory: Sessions, provider_settings: Settings) -> MakeOwner:  # noqa: F811
    async def create(**overrides: Any) -> int:
        values = {
            "service_id": str(gh.accounts["alice"].id),
            "username": "alice",
            "oauth_token": encrypt_token(TOKEN, provider_settings.encryption_key),
        }
        async with session_factory.begin() as s:
            return await create_owner(s, **(values | overrides))

    return create


@pytest.fixture
def run(session_factory: Sessions, provider_http: httpx.AsyncClient, provider_settings: Settings) -> Run:  # noqa: F811
    async def sync(ownerid: int, **kwargs: Any) -> dict[str, Any]:
        async with session_factory.begin() as s:
            schedule = partial(outbox.schedule_task, s, "")
            return await sync_teams(
                s, ownerid=ownerid, http=provider_http, settings=provider_settings, schedule=schedule, **kwargs
            )

    return sync


async def owner_by_login(sessions: async_sessionmaker[AsyncSession], login: str) -> Owner:
    async with sessions() as s:
        owner = await s.scalar(select(Owner).where(Owner.username == login))
        assert owner is not None
        return owner


async def xmins(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as s:
        rows = await s.execute(text("SELECT ownerid, xmin::text FROM owners"))
        return {ownerid: xmin for ownerid, xmin in rows}


async def test_sync_teams_upserts_each_org_and_sets_organizations(
    gh: FakeGitHub, alice: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    # Given beta is known with a stale profile, acme is not
    ownerid = await alice()
    async with session_factory.begin() as s:
        beta = await create_owner(s, service_id=str(gh.accounts["beta"].id), username="beta-old", name="Old", email="x")

    result = await run(ownerid)

    acme = await owner_by_login(session_factory, "acme")
    assert result == {"orgs": [acme.ownerid, beta], "removed": []}
    assert (acme.service, acme.service_id, acme.name, acme.email, acme.avatar_url) == (
        "github",
        str(gh.accounts["acme"].id),
        "Acme Inc",
        "hello@acme.test",
        "https://avatars.example/acme",
    )
    refreshed = await owner_by_login(session_factory, "beta")
    assert (refreshed.ownerid, refreshed.name, refreshed.email) == (beta, "Beta", None)
    assert (await owner_by_login(session_factory, "alice")).organizations == [acme.ownerid, beta]
    assert gh.count("GET", "/user/orgs") == 1 and gh.count("GET", "/orgs/") == 2
    assert {r.token for r in gh.requests} == {TOKEN}


async def test_sync_teams_replaces_organizations_with_exactly_the_current_list(
    gh: FakeGitHub, alice: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    async with session_factory.begin() as s:
        left = await create_owner(s, service_id="9000001", username="left-org")
    ownerid = await alice(organizations=[left])

    result = await run(ownerid)

    assert result["removed"] == [left]
    organizations = (await owner_by_login(session_factory, "alice")).organizations
    assert organizations is not None and left not in organizations


async def test_sync_teams_twice_is_a_no_op(
    gh: FakeGitHub, alice: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await alice()
    first = await run(ownerid)
    before = await xmins(session_factory)

    second = await run(ownerid)

    assert second == {"orgs": first["orgs"], "removed": []}
    assert await xmins(session_factory) == before  # no owners row rewritten


async def test_sync_teams_chains_sync_repos_through_the_outbox(
    alice: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await alice()

    result = await run(ownerid, chain_sync_repos=True, using_integration=True)

    assert result["sync_repos_scheduled"] is True
    async with session_factory() as s:
        [row] = (await s.scalars(select(OutboxRecord))).all()
    assert row.topic == "app.tasks.sync_repos.SyncRepos" and row.key == str(ownerid).encode()
    assert b'"ownerid":' + str(ownerid).encode() in row.value.replace(b" ", b"")
    assert b'"using_integration":true' in row.value.replace(b" ", b"")


async def test_sync_teams_without_chain_schedules_nothing(
    alice: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    await run(await alice())

    async with session_factory() as s:
        assert (await s.scalars(select(OutboxRecord))).all() == []


async def test_missing_owner(gh: FakeGitHub, run: Run) -> None:
    assert await run(987654) == {"reason": "owner_not_found"}
    assert gh.requests == []


async def test_no_usable_token_and_a_bot_is_not_used(
    gh: FakeGitHub,
    alice: MakeOwner,
    run: Run,
    session_factory: Sessions,
    provider_settings: Settings,  # noqa: F811
) -> None:
    async with session_factory.begin() as s:
        bot = await create_owner(
            s, service_id="9000002", oauth_token=encrypt_token("gho_bot", provider_settings.encryption_key)
        )
    ownerid = await alice(oauth_token=None, bot=bot)

    assert await run(ownerid) == {"reason": "no_valid_bot"}
    assert gh.requests == []


async def test_revoked_token_gives_a_clear_result(
    gh: FakeGitHub, alice: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await alice(organizations=[1, 2])
    gh.revoke(TOKEN)

    assert await run(ownerid) == {"reason": "unauthorized"}
    assert (await owner_by_login(session_factory, "alice")).organizations == [1, 2]


async def test_not_found_gives_a_clear_result(gh: FakeGitHub, alice: MakeOwner, run: Run) -> None:
    ownerid = await alice()
    gh.fail_next(404, path="/user/orgs")

    assert await run(ownerid) == {"reason": "not_found"}


async def test_rate_limit_is_retried_at_the_reset_time(
    gh: FakeGitHub, alice: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await alice()
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=7)
    gh.rate_limit(reset_at=reset)

    with pytest.raises(ProviderRateLimited) as caught:
        await run(ownerid)

    assert caught.value.at == reset
    assert TOKEN not in str(caught.value)


async def test_server_error_is_retried(gh: FakeGitHub, alice: MakeOwner, run: Run, session_factory: Sessions) -> None:
    ownerid = await alice()
    gh.fail_next(502, path="/orgs/")

    with pytest.raises(ProviderServerError):
        await run(ownerid)
    assert await owner_by_login(session_factory, "alice") is not None
    async with session_factory() as s:  # the failed record's transaction left nothing behind
        assert await s.scalar(select(Owner).where(Owner.username == "acme")) is None
