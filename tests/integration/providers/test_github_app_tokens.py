"""GitHub App installation tokens and marketplace reads against the fake GitHub."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from stream_app.providers.errors import ProviderNotFound, ProviderUnauthorized
from stream_app.providers.github import GitHub
from stream_app.providers.github_app import GithubApp, GithubAppSettings
from tests.fakes.plugin import APP_ID, private_pem
from tests.integration.providers.conftest import World

MINT = "/app/installations/7/access_tokens"


@pytest.fixture
def installed(world: World) -> World:
    world.gh.add_installation(7, app_id=APP_ID, account="acme", repos=["acme/widgets"])
    return world


async def test_installation_token_is_minted_with_the_app_jwt_then_cached(
    installed: World, provider_http: httpx.AsyncClient, github_app: GithubApp
) -> None:
    first = await github_app.installation_token(7, http=provider_http, api_url=installed.gh.url)
    second = await github_app.installation_token(7, http=provider_http, api_url=installed.gh.url)

    assert first is second
    assert installed.gh.count("POST", MINT) == 1  # the second call made no request
    assert first.source == "installation" and first.value.startswith("ghs_")
    assert first.expires_at is not None and first.expires_at > datetime.now(UTC) + timedelta(minutes=50)
    jwt = installed.gh.requests[0].token
    assert jwt is not None and jwt.count(".") == 2  # the JWT, not a user token
    repo = await GitHub(token=first, http=provider_http, api_url=installed.gh.url).get_repo(installed.repo)
    assert repo.name == "widgets"


async def test_concurrent_callers_share_one_mint(
    installed: World, provider_http: httpx.AsyncClient, github_app: GithubApp
) -> None:
    tokens = await asyncio.gather(
        *(github_app.installation_token(7, http=provider_http, api_url=installed.gh.url) for _ in range(5))
    )
    assert len({t.value for t in tokens}) == 1
    assert installed.gh.count("POST", MINT) == 1


async def test_a_token_near_expiry_is_replaced(
    installed: World, provider_http: httpx.AsyncClient, github_app: GithubApp
) -> None:
    installed.gh.installation_token_lifetime = timedelta(minutes=4)  # inside the five-minute margin

    first = await github_app.installation_token(7, http=provider_http, api_url=installed.gh.url)
    second = await github_app.installation_token(7, http=provider_http, api_url=installed.gh.url)

    assert first.value != second.value
    assert installed.gh.count("POST", MINT) == 2


async def test_forget_drops_a_rejected_token(
    installed: World, provider_http: httpx.AsyncClient, github_app: GithubApp
) -> None:
    first = await github_app.installation_token(7, http=provider_http, api_url=installed.gh.url)
    github_app.forget(7, api_url=installed.gh.url)
    second = await github_app.installation_token(7, http=provider_http, api_url=installed.gh.url)
    assert first.value != second.value


async def test_an_unknown_installation_is_not_found(
    installed: World, provider_http: httpx.AsyncClient, github_app: GithubApp
) -> None:
    with pytest.raises(ProviderNotFound):
        await github_app.installation_token(8, http=provider_http, api_url=installed.gh.url)


async def test_a_jwt_from_another_key_is_rejected(installed: World, provider_http: httpx.AsyncClient) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app = GithubApp(GithubAppSettings(app_id=APP_ID, private_key=SecretStr(private_pem(other))))
    with pytest.raises(ProviderUnauthorized):
        await app.installation_token(7, http=provider_http, api_url=installed.gh.url)


async def test_marketplace_account_plan_with_the_app_jwt(
    world: World, provider_http: httpx.AsyncClient, github_app: GithubApp
) -> None:
    world.gh.add_marketplace_account("acme", plan="Pro", price_model="PER_UNIT", unit_count=12)
    client = GitHub(token=github_app.app_token(), http=provider_http, api_url=world.gh.url)

    account = await client.get_marketplace_account(str(world.gh.accounts["acme"].id))
    unknown = await client.get_marketplace_account("999999")

    assert account is not None
    assert (account.username, account.is_org, account.plan_name) == ("acme", True, "Pro")
    assert (account.price_model, account.unit_count, account.on_free_trial) == ("PER_UNIT", 12, False)
    assert unknown is None


async def test_marketplace_needs_the_app_jwt(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderUnauthorized):
        await world.client(provider_http).get_marketplace_account("1")
