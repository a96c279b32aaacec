"""Failures of the real HTTP exchange map to the provider error taxonomy."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from stream_app.errors import RetryLater
from stream_app.providers.errors import (
    ProviderNotFound,
    ProviderRateLimited,
    ProviderServerError,
    ProviderUnauthorized,
)
from stream_app.providers.github import GitHub
from stream_app.providers.types import Token
from tests.integration.providers.conftest import ALICE_TOKEN, World


async def test_rate_limit_carries_the_reset_time(world: World, provider_http: httpx.AsyncClient) -> None:
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=20)
    world.gh.rate_limit(reset_at=reset)

    with pytest.raises(ProviderRateLimited) as caught:
        await world.client(provider_http).get_repo(world.repo)

    assert caught.value.reset_at == reset
    assert isinstance(caught.value, RetryLater) and caught.value.at == reset
    assert caught.value.status == 403
    assert ALICE_TOKEN not in str(caught.value)


async def test_rate_limit_mid_pagination_stops_the_listing(world: World, provider_http: httpx.AsyncClient) -> None:
    for n in range(4):
        world.gh.add_repo(f"alice/r{n}")
    client = world.client(provider_http, per_page=2)
    seen = []
    with pytest.raises(ProviderRateLimited):
        async for page in client.list_repos():
            seen.append(page)
            world.gh.rate_limit(reset_at=datetime.now(UTC) + timedelta(minutes=1))
    assert len(seen) == 1


async def test_secondary_rate_limit_uses_retry_after(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.rate_limit(reset_at=datetime.now(UTC), status=429, retry_after=30, times=1)
    before = datetime.now(UTC)

    with pytest.raises(ProviderRateLimited) as caught:
        await world.client(provider_http).get_authenticated_user()

    assert before + timedelta(seconds=29) <= caught.value.reset_at <= datetime.now(UTC) + timedelta(seconds=31)
    assert (await world.client(provider_http).get_authenticated_user()).username == "alice"  # times=1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(world: World, provider_http: httpx.AsyncClient, status: int) -> None:
    world.gh.fail_next(status, path="/repos/acme/widgets")

    with pytest.raises(ProviderServerError) as caught:
        await world.client(provider_http).get_repo(world.repo)

    assert caught.value.status == status and caught.value.at is None
    assert (await world.client(provider_http).get_repo(world.repo)).name == "widgets"


async def test_a_slow_provider_times_out_as_a_server_error(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.latency = 1.0
    client = GitHub(
        token=Token(ALICE_TOKEN, "owner"), http=provider_http, api_url=world.gh.url, timeout=httpx.Timeout(0.2)
    )

    with pytest.raises(ProviderServerError, match="timed out"):
        await client.get_authenticated_user()


async def test_an_unreachable_provider_is_a_server_error(provider_http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: connection refused
    client = GitHub(token=Token("t", "owner"), http=provider_http, api_url=f"http://127.0.0.1:{port}")

    with pytest.raises(ProviderServerError):
        await client.get_authenticated_user()


async def test_a_revoked_token_is_unauthorized(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.revoke(ALICE_TOKEN)

    with pytest.raises(ProviderUnauthorized) as caught:
        await world.client(provider_http).get_authenticated_user()

    assert caught.value.status == 401
    assert ALICE_TOKEN not in str(caught.value) and ALICE_TOKEN not in repr(caught.value)


async def test_an_unknown_token_is_unauthorized(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderUnauthorized):
        await world.client(provider_http, token="gho_nobody").list_teams()


async def test_not_found(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        await world.client(provider_http).list_branches(world.repo.__class__("acme", "nope"))
    assert caught.value.code == "provider_not_found"
    assert "GET /repos/acme/nope/branches" in caught.value.detail
