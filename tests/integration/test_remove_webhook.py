"""RemoveOldHook's service against real PostgreSQL and the fake GitHub over HTTP."""

# ruff: noqa: F811 - pytest fixtures imported from tests.fakes.plugin are parameters by the same name

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Repo
from stream_app.providers import ProviderRateLimited, ProviderServerError
from stream_app.services.repo_provider import ProviderSetup
from stream_app.services.webhooks import remove_old_hook
from stream_app.settings import Settings
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import fake_github, provider_http, provider_settings  # noqa: F401

pytestmark = pytest.mark.db

TOKEN = "gho_alice"
HOOKS = "/repos/alice/widgets/hooks/"
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Seeded:
    repoid: int
    hookid: str


Seed = Callable[..., Awaitable[Seeded]]


@pytest.fixture
def setup(provider_http: httpx.AsyncClient, provider_settings: Settings) -> ProviderSetup:
    return ProviderSetup(provider_http, provider_settings)


@pytest.fixture
def seed(session_factory: Sessions, fake_github: FakeGitHub, provider_settings: Settings) -> Seed:
    """alice's repo `widgets` with one webhook on the fake, its id stored in repos.hookid."""

    async def create(*, token: str | None = TOKEN, hook_on_provider: bool = True) -> Seeded:
        alice = fake_github.add_user("alice", token=TOKEN)
        gh_repo = fake_github.add_repo("alice/widgets", private=True)
        hookid = fake_github.next_id()
        if hook_on_provider:
            gh_repo.hooks[hookid] = {"config": {"url": "https://codecov.example/hook"}, "events": ["push"]}
        stored = encrypt_token(token, provider_settings.encryption_key) if token else None
        async with session_factory.begin() as s:
            ownerid = await create_owner(s, service_id=str(alice.id), username="alice", oauth_token=stored)
            repoid = await create_repo(
                s, ownerid=ownerid, name="widgets", service_id=str(gh_repo.id), hookid=str(hookid)
            )
        return Seeded(repoid, str(hookid))

    return create


async def run(session_factory: Sessions, setup: ProviderSetup, repoid: int) -> dict[str, Any]:
    async with session_factory.begin() as s:
        return await remove_old_hook(s, setup, repoid=repoid)


async def stored_hookid(session_factory: Sessions, repoid: int) -> str | None:
    async with session_factory() as s:
        repo = await s.get(Repo, repoid)
        assert repo is not None
        return repo.hookid


async def test_remove_old_hook_deletes_the_hook_and_clears_hookid(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()

    result = await run(session_factory, setup, seeded.repoid)

    assert result == {"removed": True}
    assert fake_github.repos["alice/widgets"].hooks == {}
    assert fake_github.count("DELETE", HOOKS + seeded.hookid) == 1
    assert await stored_hookid(session_factory, seeded.repoid) is None


async def test_remove_old_hook_counts_a_hook_already_gone_as_removed(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    # Given a stored hookid the provider no longer has (someone deleted it by hand): a 404
    seeded = await seed(hook_on_provider=False)

    result = await run(session_factory, setup, seeded.repoid)

    assert result == {"removed": True, "already_gone": True}
    assert await stored_hookid(session_factory, seeded.repoid) is None


async def test_remove_old_hook_twice_is_a_no_op(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    await run(session_factory, setup, seeded.repoid)

    again = await run(session_factory, setup, seeded.repoid)

    assert again == {"removed": False, "reason": "no_hook"}
    assert fake_github.count("DELETE") == 1


async def test_concurrent_removals_send_one_delete(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    # Given a slow provider and two records for the same repo running at once
    seeded = await seed()
    fake_github.latency = 0.2

    results = await asyncio.gather(*(run(session_factory, setup, seeded.repoid) for _ in range(2)))

    # Then the repo row's lock makes the second wait and find the hook already cleared
    assert sorted(r["removed"] for r in results) == [False, True]
    assert fake_github.count("DELETE") == 1


async def test_remove_old_hook_reports_a_missing_repo(session_factory: Sessions, setup: ProviderSetup) -> None:
    assert await run(session_factory, setup, 4040) == {"removed": False, "reason": "repo_not_found"}


async def test_remove_old_hook_without_a_token_keeps_the_hookid(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed(token=None)

    assert await run(session_factory, setup, seeded.repoid) == {"removed": False, "reason": "no_valid_bot"}
    assert await stored_hookid(session_factory, seeded.repoid) == seeded.hookid
    assert fake_github.requests == []


async def test_remove_old_hook_with_a_revoked_token_keeps_the_hookid(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    fake_github.revoke(TOKEN)

    result = await run(session_factory, setup, seeded.repoid)

    assert result == {"removed": False, "reason": "unauthorized", "status": 401}
    assert await stored_hookid(session_factory, seeded.repoid) == seeded.hookid
    assert TOKEN not in str(result)


async def test_remove_old_hook_rate_limited_is_retried_at_the_reset_time(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    reset_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=7)
    fake_github.rate_limit(reset_at=reset_at)

    with pytest.raises(ProviderRateLimited) as raised:
        await run(session_factory, setup, seeded.repoid)

    assert raised.value.at == reset_at  # RetryLater.at: the pipeline parks the record until then
    assert await stored_hookid(session_factory, seeded.repoid) == seeded.hookid


async def test_remove_old_hook_provider_error_is_retried(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    fake_github.fail_next(502, method="DELETE")

    with pytest.raises(ProviderServerError) as raised:
        await run(session_factory, setup, seeded.repoid)

    assert raised.value.at is None  # backoff chosen by the pipeline
    assert await stored_hookid(session_factory, seeded.repoid) == seeded.hookid
    assert fake_github.repos["alice/widgets"].hooks != {}
