"""GitHub secondary rate limits over real HTTP: a 403 (or 429) whose message says "rate limit"
or "abuse", with quota left and no Retry-After, is retried a minute later; it never makes
VerifyBot clear a working bot nor SyncPlans report the app unauthorized. A 403 about
permissions is handled as before. Real PostgreSQL, the fake GitHub on a real socket."""

# ruff: noqa: F811 - pytest fixtures imported from tests.fakes.plugin are parameters by the same name

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Owner, Repo
from stream_app.providers import ProviderRateLimited
from stream_app.providers.github_app import GithubApp
from stream_app.services.bots import verify_bot
from stream_app.services.plans import sync_plans
from stream_app.services.repo_provider import ProviderSetup
from stream_app.settings import Settings
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.github_http import ApiError
from tests.fakes.plugin import (  # noqa: F401 - fixtures; `fake_github` is this module's own
    APP_ID,
    app_private_key,
    github_app,
    provider_http,
    provider_settings,
)

pytestmark = pytest.mark.db

Sessions = async_sessionmaker[AsyncSession]
ALICE, REPO_BOT, OWNER_BOT = "gho_alice", "gho_repo_bot", "gho_owner_bot"
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID ABCD:1234."
)
ABUSE = "You have triggered an abuse detection mechanism. Please wait a few minutes before you try again."


@dataclass
class _Answer:
    status: int
    message: str
    path: str
    times: int
    headers: dict[str, str] = field(default_factory=dict)


class LimitingGitHub(FakeGitHub):
    """The fake GitHub, plus canned error answers the way GitHub gives secondary limits: the
    status and message chosen by the test, quota left (X-RateLimit-Remaining 4999, set by the
    fake) and a primary-window X-RateLimit-Reset far away, no Retry-After."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[_Answer] = []
        self.primary_reset = datetime.now(UTC) + timedelta(minutes=45)

    def answer_next(self, status: int, message: str, *, path: str, times: int = 1) -> None:
        """The next `times` requests whose path starts with `path` answer `status` with `message`."""
        headers = {"X-RateLimit-Reset": str(int(self.primary_reset.timestamp())), "X-RateLimit-Used": "1"}
        self.answers.append(_Answer(status, message, path, times, headers))

    def _check_switches(self, method: str, path: str, query: dict[str, str]) -> None:
        for answer in self.answers:
            if answer.times > 0 and path.startswith(answer.path):
                answer.times -= 1
                raise ApiError(answer.status, answer.message, answer.headers)
        super()._check_switches(method, path, query)


@pytest.fixture
async def fake_github() -> AsyncIterator[LimitingGitHub]:
    gh = LimitingGitHub()
    async with gh:
        yield gh


@pytest.fixture
def setup(provider_http: httpx.AsyncClient, provider_settings: Settings) -> ProviderSetup:
    return ProviderSetup(provider_http, provider_settings)


@dataclass(frozen=True)
class Seeded:
    ownerid: int
    repoid: int
    repo_bot: int
    owner_bot: int


@pytest.fixture
async def seeded(session_factory: Sessions, fake_github: LimitingGitHub, provider_settings: Settings) -> Seeded:
    """alice's private repo `widgets`; its repo bot and alice's owner bot both work on GitHub."""
    alice = fake_github.add_user("alice", token=ALICE)
    repo_bot = fake_github.add_user("repo-bot", token=REPO_BOT)
    owner_bot = fake_github.add_user("owner-bot", token=OWNER_BOT)
    gh_repo = fake_github.add_repo("alice/widgets", private=True, collaborators={"repo-bot", "owner-bot"})
    key = provider_settings.encryption_key
    async with session_factory.begin() as s:
        rb = await create_owner(s, service_id=str(repo_bot.id), oauth_token=encrypt_token(REPO_BOT, key))
        ob = await create_owner(s, service_id=str(owner_bot.id), oauth_token=encrypt_token(OWNER_BOT, key))
        ownerid = await create_owner(
            s, service_id=str(alice.id), username="alice", oauth_token=encrypt_token(ALICE, key), bot=ob
        )
        repoid = await create_repo(s, ownerid=ownerid, name="widgets", service_id=str(gh_repo.id), bot=rb)
    return Seeded(ownerid, repoid, rb, ob)


async def verify(session_factory: Sessions, setup: ProviderSetup, **ids: int) -> dict[str, Any]:
    async with session_factory.begin() as s:
        return await verify_bot(s, setup, **ids)


async def bots_and_tokens(session_factory: Sessions, seeded: Seeded) -> tuple[int | None, int | None, int]:
    """(repos.bot, owners.bot, how many owners still have a token)."""
    async with session_factory() as s:
        repo, owner = await s.get(Repo, seeded.repoid), await s.get(Owner, seeded.ownerid)
        tokens = len((await s.scalars(select(Owner.ownerid).where(Owner.oauth_token.is_not(None)))).all())
    assert repo is not None and owner is not None
    return repo.bot, owner.bot, tokens


def about_a_minute_from(before: datetime, reset_at: datetime) -> bool:
    return before + timedelta(seconds=59) <= reset_at <= datetime.now(UTC) + timedelta(seconds=61)


@pytest.mark.parametrize(
    ("status", "message", "path"),
    [
        (403, SECONDARY, "/user"),  # the token check
        (403, SECONDARY, "/repos/alice/widgets"),  # the repo check, after /user answered
        (403, ABUSE, "/user"),
        (429, SECONDARY, "/user"),
    ],
    ids=["403-secondary-on-user", "403-secondary-on-repo", "403-abuse-on-user", "429-on-user"],
)
async def test_verify_bot_secondary_limit_is_retried_in_a_minute_and_keeps_the_repo_bot(
    session_factory: Sessions,
    setup: ProviderSetup,
    seeded: Seeded,
    fake_github: LimitingGitHub,
    status: int,
    message: str,
    path: str,
) -> None:
    fake_github.answer_next(status, message, path=path)
    before = datetime.now(UTC)

    with pytest.raises(ProviderRateLimited) as raised:
        await verify(session_factory, setup, repoid=seeded.repoid)

    assert raised.value.status == status
    assert about_a_minute_from(before, raised.value.reset_at)
    assert raised.value.at == raised.value.reset_at  # the pipeline runs the record again then
    assert raised.value.reset_at < fake_github.primary_reset - timedelta(minutes=30)
    assert await bots_and_tokens(session_factory, seeded) == (seeded.repo_bot, seeded.owner_bot, 3)
    assert {r.token for r in fake_github.requests} == {REPO_BOT}  # no fallback to the next token

    # The retry, once the limit is over: the bot was fine all along.
    retried = await verify(session_factory, setup, repoid=seeded.repoid)
    assert (retried["valid"], retried["token_source"], retried["action"]) == (True, "repo_bot", "none")


async def test_verify_bot_secondary_limit_keeps_the_owner_bot(
    session_factory: Sessions, setup: ProviderSetup, seeded: Seeded, fake_github: LimitingGitHub
) -> None:
    fake_github.answer_next(403, SECONDARY, path="/user")

    with pytest.raises(ProviderRateLimited):
        await verify(session_factory, setup, ownerid=seeded.ownerid)

    assert await bots_and_tokens(session_factory, seeded) == (seeded.repo_bot, seeded.owner_bot, 3)
    retried = await verify(session_factory, setup, ownerid=seeded.ownerid)
    assert (retried["valid"], retried["token_source"], retried["action"]) == (True, "owner_bot", "none")


async def test_verify_bot_a_plain_403_on_the_token_check_still_clears_the_bot(
    session_factory: Sessions, setup: ProviderSetup, seeded: Seeded, fake_github: LimitingGitHub
) -> None:
    fake_github.answer_next(403, "Must have admin rights to Repository.", path="/user")

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert (result["valid"], result["token_source"], result["action"]) == (True, "owner_bot", "cleared_repo_bot")
    assert result["checked"] == [
        {"token_source": "repo_bot", "verdict": "rejected"},
        {"token_source": "owner_bot", "verdict": "valid"},
    ]
    assert await bots_and_tokens(session_factory, seeded) == (None, seeded.owner_bot, 3)  # cleared, not flagged


async def test_verify_bot_a_plain_403_on_the_repo_still_clears_the_bot(
    session_factory: Sessions, setup: ProviderSetup, seeded: Seeded, fake_github: LimitingGitHub
) -> None:
    fake_github.answer_next(403, "Resource not accessible by integration", path="/repos/alice/widgets")

    result = await verify(session_factory, setup, repoid=seeded.repoid)

    assert result["checked"][0] == {"token_source": "repo_bot", "verdict": "cannot_read_repo"}
    assert await bots_and_tokens(session_factory, seeded) == (None, seeded.owner_bot, 3)


async def test_sync_plans_secondary_limit_is_retried_and_changes_no_plan(
    session_factory: Sessions,
    fake_github: LimitingGitHub,
    github_app: GithubApp,
    provider_http: httpx.AsyncClient,
    provider_settings: Settings,
) -> None:
    fake_github.add_user("alice")
    acme = fake_github.add_org("acme", members=["alice"])
    fake_github.add_marketplace_account("acme", unit_count=10)
    async with session_factory.begin() as s:
        ownerid = await create_owner(
            s, service_id=str(acme.id), username="acme", plan="users", plan_user_count=10, plan_activated_users=[7]
        )
        await create_repo(s, ownerid=ownerid, activated=True)
    fake_github.answer_next(403, SECONDARY, path="/marketplace_listing/")
    before = datetime.now(UTC)

    with pytest.raises(ProviderRateLimited) as raised:
        async with session_factory.begin() as s:
            await sync_plans(
                s,
                sender={"id": fake_github.accounts["alice"].id, "login": "alice"},
                account={"id": acme.id, "login": "acme", "type": "Organization"},
                action="changed",
                http=provider_http,
                settings=provider_settings,
                app=github_app,
            )

    assert about_a_minute_from(before, raised.value.reset_at)
    async with session_factory() as s:
        owner = await s.get(Owner, ownerid)
        assert owner is not None
        assert (owner.plan, owner.plan_user_count, owner.plan_activated_users) == ("users", 10, [7])
        assert list(await s.scalars(select(Repo.activated).where(Repo.ownerid == ownerid))) == [True]
