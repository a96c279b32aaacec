"""VerifyBot's service against real PostgreSQL and the fake GitHub over HTTP."""

# ruff: noqa: F811 - pytest fixtures imported from tests.fakes.plugin are parameters by the same name

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Owner, Repo
from stream_app.providers import ProviderRateLimited, ProviderServerError
from stream_app.providers.github_app import GithubApp
from stream_app.services.bots import verify_bot
from stream_app.services.repo_provider import ProviderSetup
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

ALICE, REPO_BOT, OWNER_BOT = "gho_alice", "gho_repo_bot", "gho_owner_bot"
ALL_TOKENS = (ALICE, REPO_BOT, OWNER_BOT)
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Seeded:
    ownerid: int
    repoid: int
    repo_bot: int | None
    owner_bot: int | None


Seed = Callable[..., Awaitable[Seeded]]


@pytest.fixture
def setup(provider_http: httpx.AsyncClient, provider_settings: Settings) -> ProviderSetup:
    return ProviderSetup(provider_http, provider_settings)


@pytest.fixture
def seed(session_factory: Sessions, fake_github: FakeGitHub, provider_settings: Settings) -> Seed:
    """alice's repo `widgets` on the fake and in the database; bots are collaborators unless told."""

    async def create(
        *,
        repo_bot: bool = False,
        owner_bot: bool = False,
        owner_token: str | None = ALICE,
        private: bool = True,
        collaborators: tuple[str, ...] = ("repo-bot", "owner-bot"),
        integration_id: int | None = None,
    ) -> Seeded:
        alice = fake_github.add_user("alice", token=ALICE)
        accounts = {"repo-bot": fake_github.add_user("repo-bot", token=REPO_BOT)}
        accounts["owner-bot"] = fake_github.add_user("owner-bot", token=OWNER_BOT)
        gh_repo = fake_github.add_repo("alice/widgets", private=private, collaborators=set(collaborators))

        def stored(token: str | None) -> str | None:
            return encrypt_token(token, provider_settings.encryption_key) if token else None

        async with session_factory.begin() as s:
            rb = await create_owner(s, service_id=str(accounts["repo-bot"].id), oauth_token=stored(REPO_BOT))
            ob = await create_owner(s, service_id=str(accounts["owner-bot"].id), oauth_token=stored(OWNER_BOT))
            ownerid = await create_owner(
                s,
                service_id=str(alice.id),
                username="alice",
                oauth_token=stored(owner_token),
                bot=ob if owner_bot else None,
                integration_id=integration_id,
            )
            repoid = await create_repo(
                s,
                ownerid=ownerid,
                name="widgets",
                service_id=str(gh_repo.id),
                bot=rb if repo_bot else None,
                using_integration=integration_id is not None,
            )
        return Seeded(ownerid, repoid, rb if repo_bot else None, ob if owner_bot else None)

    return create


async def verify(session_factory: Sessions, setup: ProviderSetup, **ids: int) -> dict[str, Any]:
    async with session_factory.begin() as s:
        result = await verify_bot(s, setup, **ids)
    assert not any(token in str(result) for token in ALL_TOKENS)  # never a token value in a result
    return result


async def rows(session_factory: Sessions, seeded: Seeded) -> tuple[Repo, Owner, dict[int | None, str | None]]:
    """The repo, its owner, and every owner's stored (encrypted) token by ownerid."""
    async with session_factory() as s:
        repo, owner = await s.get(Repo, seeded.repoid), await s.get(Owner, seeded.ownerid)
        tokens: dict[int | None, str | None] = dict((await s.execute(select(Owner.ownerid, Owner.oauth_token))).all())
    assert repo is not None and owner is not None
    return repo, owner, tokens


def checked(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"token_source": source, "verdict": verdict} for source, verdict in pairs]


async def test_a_working_repo_bot_is_valid_and_nothing_changes(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed(repo_bot=True, owner_bot=True)

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert result == {
        "valid": True,
        "token_source": "repo_bot",
        "action": "none",
        "checked": checked(("repo_bot", "valid")),
    }
    assert [(r.method, r.path, r.token) for r in fake_github.requests] == [
        ("GET", "/user", REPO_BOT),
        ("GET", "/repos/alice/widgets", REPO_BOT),
    ]
    repo, owner, _ = await rows(session_factory, seeded)
    assert (repo.bot, owner.bot) == (seeded.repo_bot, seeded.owner_bot)


async def test_a_revoked_repo_bot_is_cleared_and_flagged_then_the_owner_bot_is_checked(
    session_factory: Sessions,
    setup: ProviderSetup,
    seed: Seed,
    fake_github: FakeGitHub,
) -> None:
    seeded = await seed(repo_bot=True, owner_bot=True)
    fake_github.revoke(REPO_BOT)

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert result == {
        "valid": True,
        "token_source": "owner_bot",
        "action": "cleared_repo_bot+flagged_bot_token",
        "checked": checked(("repo_bot", "revoked"), ("owner_bot", "valid")),
    }
    repo, owner, tokens = await rows(session_factory, seeded)
    assert (repo.bot, owner.bot) == (None, seeded.owner_bot)
    assert tokens[seeded.repo_bot] is None  # a revoked token is flagged where it is stored
    assert tokens[seeded.owner_bot] is not None


async def test_a_bot_without_push_access_is_cleared_but_its_token_kept(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed
) -> None:
    # Given a public repo the repo bot can read but not push to (it cannot post statuses)
    seeded = await seed(repo_bot=True, private=False, collaborators=())

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert result["valid"] is True and result["token_source"] == "owner"
    assert result["action"] == "cleared_repo_bot"
    assert result["checked"] == checked(("repo_bot", "cannot_push"), ("owner", "valid"))
    repo, _, tokens = await rows(session_factory, seeded)
    assert repo.bot is None and tokens[seeded.repo_bot] is not None


async def test_a_bot_that_cannot_see_a_private_repo_is_cleared(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed
) -> None:
    # The provider answers 404 for a private repo the token may not see
    seeded = await seed(owner_bot=True, collaborators=())

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert result["checked"] == checked(("owner_bot", "cannot_read_repo"), ("owner", "valid"))
    assert (result["valid"], result["action"]) == (True, "cleared_owner_bot")
    _, owner, _ = await rows(session_factory, seeded)
    assert owner.bot is None


async def test_a_revoked_owner_token_is_flagged(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    fake_github.revoke(ALICE)

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert result == {
        "valid": False,
        "token_source": "owner",
        "action": "flagged_owner_token",
        "checked": checked(("owner", "revoked")),
        "reason": "revoked",
    }
    _, owner, _ = await rows(session_factory, seeded)
    assert owner.oauth_token is None
    # and the next run knows there is no token left
    again = await verify(session_factory, setup, repoid=seeded.repoid)
    assert (again["valid"], again["action"], again["reason"]) == (False, "none", "no_valid_bot")


async def test_an_owner_token_without_access_to_the_repo_is_kept(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    # Given the owner's token belongs to an account that cannot push to this public repo
    seeded = await seed(owner_token="gho_mallory", private=False)
    fake_github.add_user("mallory", token="gho_mallory")

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert (result["valid"], result["action"], result["reason"]) == (False, "none", "cannot_push")
    _, owner, _ = await rows(session_factory, seeded)
    assert owner.oauth_token is not None


async def test_verify_bot_twice_is_a_no_op(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed(repo_bot=True, owner_bot=True)
    fake_github.revoke(REPO_BOT)
    await verify(session_factory, setup, repoid=seeded.repoid)
    before = await rows(session_factory, seeded)

    again = await verify(session_factory, setup, repoid=seeded.repoid)

    assert (again["valid"], again["token_source"], again["action"]) == (True, "owner_bot", "none")
    after = await rows(session_factory, seeded)
    assert (after[0].updatestamp, after[1].updatestamp, after[2]) == (
        before[0].updatestamp,
        before[1].updatestamp,
        before[2],
    )


async def test_an_owners_revoked_bot_is_cleared_and_its_own_token_checked(
    session_factory: Sessions,
    setup: ProviderSetup,
    seed: Seed,
    fake_github: FakeGitHub,
) -> None:
    seeded = await seed(owner_bot=True)
    fake_github.revoke(OWNER_BOT)

    result = await verify(session_factory, setup, ownerid=seeded.ownerid)

    assert result == {
        "valid": True,
        "token_source": "owner",
        "action": "cleared_owner_bot+flagged_bot_token",
        "checked": checked(("owner_bot", "revoked"), ("owner", "valid")),
    }
    assert [r.path for r in fake_github.requests] == ["/user", "/user"]


async def test_an_installation_token_is_checked_by_reading_the_repo(
    session_factory: Sessions,
    provider_http: httpx.AsyncClient,
    provider_settings: Settings,
    seed: Seed,
    fake_github: FakeGitHub,
    github_app: GithubApp,
) -> None:
    seeded = await seed(integration_id=777)
    fake_github.add_installation(777, app_id=APP_ID, account="alice", repos=["alice/widgets"])
    setup = ProviderSetup(provider_http, provider_settings, github_app)

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert result == {
        "valid": True,
        "token_source": "installation",
        "action": "none",
        "checked": checked(("installation", "valid")),
    }
    assert fake_github.count("GET", "/user") == 0  # installation tokens may not call it


async def test_an_installation_without_the_repo_is_reported_and_nothing_cleared(
    session_factory: Sessions,
    provider_http: httpx.AsyncClient,
    provider_settings: Settings,
    seed: Seed,
    fake_github: FakeGitHub,
    github_app: GithubApp,
) -> None:
    seeded = await seed(repo_bot=True, integration_id=777)
    fake_github.add_installation(777, app_id=APP_ID, account="alice", repos=[])
    setup = ProviderSetup(provider_http, provider_settings, github_app)

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert (result["valid"], result["action"], result["reason"]) == (False, "none", "cannot_read_repo")
    repo, _, _ = await rows(session_factory, seeded)
    assert repo.bot == seeded.repo_bot


@pytest.mark.parametrize(
    ("ids", "reason"), [({"repoid": 404}, "repo_not_found"), ({"ownerid": 404}, "owner_not_found")]
)
async def test_verify_bot_reports_missing_rows(
    session_factory: Sessions, setup: ProviderSetup, ids: dict[str, int], reason: str
) -> None:
    result = await verify(session_factory, setup, **ids)

    assert result == {"valid": False, "token_source": "none", "action": "none", "checked": [], "reason": reason}


async def test_verify_bot_without_any_token_says_so(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed(owner_token=None)

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert (result["valid"], result["reason"]) == (False, "no_valid_bot")
    assert fake_github.requests == []


async def test_verify_bot_rate_limited_is_retried_at_the_reset_time_and_clears_nothing(
    session_factory: Sessions,
    setup: ProviderSetup,
    seed: Seed,
    fake_github: FakeGitHub,
) -> None:
    seeded = await seed(repo_bot=True)
    reset_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=3)
    fake_github.rate_limit(reset_at=reset_at)

    with pytest.raises(ProviderRateLimited) as raised:
        await verify(session_factory, setup, repoid=seeded.repoid)

    assert raised.value.at == reset_at
    repo, _, _ = await rows(session_factory, seeded)
    assert repo.bot == seeded.repo_bot


async def test_verify_bot_provider_error_is_retried_and_clears_nothing(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed(repo_bot=True)
    fake_github.fail_next(503)

    with pytest.raises(ProviderServerError):
        await verify(session_factory, setup, repoid=seeded.repoid)

    repo, _, _ = await rows(session_factory, seeded)
    assert repo.bot == seeded.repo_bot
