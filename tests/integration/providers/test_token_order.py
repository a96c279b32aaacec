"""Which token a task uses, with real owners/repos rows and the fake GitHub minting installation tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Owner, Repo
from stream_app.providers import get_provider
from stream_app.providers.errors import ProviderRateLimited
from stream_app.providers.github_app import GithubApp, GithubAppSettings
from stream_app.providers.types import RepoRef, Token
from stream_app.settings import Settings
from stream_app.tokens import encrypt_token, token_for_owner, token_for_repo
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import APP_ID

pytestmark = pytest.mark.db

INSTALLATION = 555
# (ownerid, repoid, repo bot's ownerid, owner bot's ownerid)
MakeRows = Callable[..., Awaitable[tuple[int, int, int | None, int | None]]]
Pick = Callable[..., Awaitable[Token | None]]


@pytest.fixture
def rows(session_factory: async_sessionmaker[AsyncSession], provider_settings: Settings) -> MakeRows:
    async def create(
        *,
        repo_bot: str | None = None,
        owner_bot: str | None = None,
        owner_token: str | None = "own",
        using: bool = True,
        unreadable: tuple[str, ...] = (),
    ) -> tuple[int, int, int | None, int | None]:
        """An owner (installation 555) and its repo `widgets`; tokens stored encrypted (some under a wrong key)."""

        def stored(value: str | None, label: str) -> str | None:
            key = Fernet.generate_key().decode() if label in unreadable else provider_settings.encryption_key
            return encrypt_token(value, key) if value else None

        async with session_factory.begin() as s:
            rb = await create_owner(s, oauth_token=stored(repo_bot, "repo_bot")) if repo_bot else None
            ob = await create_owner(s, oauth_token=stored(owner_bot, "owner_bot")) if owner_bot else None
            ownerid = await create_owner(
                s, oauth_token=stored(owner_token, "owner"), integration_id=INSTALLATION, bot=ob, username="acme"
            )
            repoid = await create_repo(s, ownerid=ownerid, bot=rb, using_integration=using, name="widgets")
        return ownerid, repoid, rb, ob

    return create


@pytest.fixture
def pick(
    session_factory: async_sessionmaker[AsyncSession], provider_settings: Settings, provider_http: httpx.AsyncClient
) -> Pick:
    async def choose(ownerid: int, repoid: int, app: GithubApp | None = None) -> Token | None:
        async with session_factory() as s:
            owner, repo = await s.get_one(Owner, ownerid), await s.get_one(Repo, repoid)
            return await token_for_repo(s, repo, owner, http=provider_http, settings=provider_settings, app=app)

    return choose


@pytest.fixture
def installed(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_org("acme")
    fake_github.add_repo("acme/widgets", private=True)
    fake_github.add_installation(INSTALLATION, app_id=APP_ID, account="acme", repos=["acme/widgets"])
    return fake_github


async def test_installation_token_comes_first(
    rows: MakeRows,
    pick: Pick,
    github_app: GithubApp,
    installed: FakeGitHub,
    provider_http: httpx.AsyncClient,
    provider_settings: Settings,
) -> None:
    ownerid, repoid, *_ = await rows(repo_bot="rb", owner_bot="ob")

    token = await pick(ownerid, repoid, github_app)

    assert token is not None and token.source == "installation"
    provider = get_provider("github", token=token, http=provider_http, settings=provider_settings)
    assert (await provider.get_repo(RepoRef("acme", "widgets"))).private is True  # the token works


async def test_a_gone_installation_falls_back_to_the_repo_bot(
    rows: MakeRows, pick: Pick, github_app: GithubApp
) -> None:
    ownerid, repoid, rb, _ = await rows(repo_bot="rb", owner_bot="ob")

    token = await pick(ownerid, repoid, github_app)

    assert token is not None and (token.source, token.ownerid, token.value) == ("repo_bot", rb, "rb")


async def test_an_unconfigured_app_falls_back_to_the_repo_bot(rows: MakeRows, pick: Pick) -> None:
    ownerid, repoid, *_ = await rows(repo_bot="rb")
    unconfigured = GithubApp(GithubAppSettings(app_id=None, private_key=None, private_key_path=None))

    token = await pick(ownerid, repoid, unconfigured)

    assert token is not None and token.source == "repo_bot"


async def test_without_using_integration_the_installation_is_skipped(
    rows: MakeRows, pick: Pick, github_app: GithubApp, installed: FakeGitHub
) -> None:
    ownerid, repoid, _, ob = await rows(owner_bot="ob", using=False)

    token = await pick(ownerid, repoid, github_app)

    assert token is not None and (token.source, token.ownerid, token.value) == ("owner_bot", ob, "ob")
    assert installed.count("POST") == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"repo_bot": "rb", "owner_bot": "ob"}, ("repo_bot", "rb")),
        ({"owner_bot": "ob"}, ("owner_bot", "ob")),
        ({}, ("owner", "own")),
        ({"repo_bot": "rb", "owner_bot": "ob", "unreadable": ("repo_bot",)}, ("owner_bot", "ob")),
        ({"repo_bot": "rb", "unreadable": ("repo_bot", "owner")}, None),
        ({"owner_token": None}, None),
    ],
)
async def test_bot_order(rows: MakeRows, pick: Pick, given: dict[str, Any], expected: tuple[str, str] | None) -> None:
    ownerid, repoid, *_ = await rows(using=False, **given)

    token = await pick(ownerid, repoid)

    assert (token and (token.source, token.value)) == expected


async def test_a_rate_limited_mint_is_retried_not_downgraded(
    rows: MakeRows, pick: Pick, github_app: GithubApp, installed: FakeGitHub
) -> None:
    ownerid, repoid, *_ = await rows(repo_bot="rb")
    installed.rate_limit(reset_at=datetime.now(UTC) + timedelta(minutes=5))

    with pytest.raises(ProviderRateLimited):
        await pick(ownerid, repoid, github_app)


async def test_token_for_owner(
    rows: MakeRows,
    session_factory: async_sessionmaker[AsyncSession],
    provider_settings: Settings,
    provider_http: httpx.AsyncClient,
    github_app: GithubApp,
    installed: FakeGitHub,
) -> None:
    ownerid, _, _, ob = await rows(owner_bot="ob")
    async with session_factory() as s:
        owner = await s.get_one(Owner, ownerid)
        kwargs: dict[str, Any] = {"http": provider_http, "settings": provider_settings, "app": github_app}
        installation = await token_for_owner(s, owner, using_integration=True, **kwargs)
        bot = await token_for_owner(s, owner, **kwargs)
        own = await token_for_owner(s, owner, allow_bot=False, **kwargs)

    assert installation is not None and installation.source == "installation"
    assert bot is not None and (bot.source, bot.ownerid) == ("owner_bot", ob)
    assert own is not None and (own.source, own.ownerid, own.value) == ("owner", ownerid, "own")
