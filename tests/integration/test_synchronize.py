"""Synchronize's service against real PostgreSQL and the fake GitHub over HTTP.

Follow-ups go through the real outbox (`schedule_task` in the test's transaction), as in the worker.
"""

# ruff: noqa: F811 - pytest fixtures imported from tests.fakes.plugin are parameters by the same name

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Branch, OutboxRecord, Pull, Repo
from stream_app.pipeline import outbox
from stream_app.providers import ProviderRateLimited, ProviderServerError
from stream_app.services.pulls import sync_pull
from stream_app.services.repo_provider import ProviderSetup
from stream_app.services.synchronize import synchronize
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_pull, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import fake_github, provider_http, provider_settings  # noqa: F401

pytestmark = pytest.mark.db

TOKEN = "gho_alice"
Sessions = async_sessionmaker[AsyncSession]
PULLS_SYNC = "app.tasks.pulls.Sync"


@dataclass(frozen=True)
class Seeded:
    repoid: int
    main: str
    feature: str
    fix: str


Seed = Callable[..., Awaitable[Seeded]]


@pytest.fixture
def setup(provider_http: httpx.AsyncClient, provider_settings: Settings) -> ProviderSetup:
    return ProviderSetup(provider_http, provider_settings)


def build_fake(gh: FakeGitHub) -> tuple[int, str, str, str]:
    """alice/widgets: private python repo, default branch main, branches feature and fix, pulls #1 and #2."""
    alice = gh.add_user("alice", token=TOKEN)
    repo = gh.add_repo("alice/widgets", private=True, language="python")
    main = gh.add_commit("alice/widgets", branch="main", files={"a.py": b"a = 1\n"}).sha
    feature = gh.add_commit("alice/widgets", branch="feature", parents=[main], files={"a.py": b"a = 2\n"}).sha
    fix = gh.add_commit("alice/widgets", branch="fix", parents=[main], files={"b.py": b"b = 1\n"}).sha
    gh.add_pull("alice/widgets", number=1, base="main", head="feature", author="alice")
    gh.add_pull("alice/widgets", number=2, base="main", head="fix", author="alice")
    assert repo.id and alice.id
    return repo.id, main, feature, fix


@pytest.fixture
def seed(session_factory: Sessions, fake_github: FakeGitHub, provider_settings: Settings) -> Seed:
    """The fake world above, and a stale repo row: public, no language, default branch master."""

    async def create(*, token: str | None = TOKEN) -> Seeded:
        repo_service_id, main, feature, fix = build_fake(fake_github)
        stored = encrypt_token(token, provider_settings.encryption_key) if token else None
        async with session_factory.begin() as s:
            ownerid = await create_owner(
                s, service_id=str(fake_github.accounts["alice"].id), username="alice", oauth_token=stored
            )
            repoid = await create_repo(
                s, ownerid=ownerid, name="widgets", service_id=str(repo_service_id), private=False, branch="master"
            )
        return Seeded(repoid, main, feature, fix)

    return create


async def run(session_factory: Sessions, setup: ProviderSetup, repoid: int) -> dict[str, Any]:
    async with session_factory.begin() as s:
        return await synchronize(s, setup, repoid=repoid, schedule=partial(outbox.schedule_task, s, ""))


async def scheduled(session_factory: Sessions) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(task, key, args) of every outbox row, oldest first."""
    async with session_factory() as s:
        rows = (await s.scalars(select(OutboxRecord).order_by(OutboxRecord.id))).all()
    return [(json.loads(r.value)["task"], r.key.decode() if r.key else None, json.loads(r.value)["args"]) for r in rows]


async def branches(session_factory: Sessions, repoid: int) -> dict[str, tuple[str | None, datetime]]:
    async with session_factory() as s:
        rows = await s.execute(select(Branch.branch, Branch.head, Branch.updatestamp).where(Branch.repoid == repoid))
        return {name: (head, stamp) for name, head, stamp in rows.all()}


async def never_scheduled(task: str, key: str | None = None, **args: Any) -> str:
    """A `schedule` for calls that must not schedule anything."""
    raise AssertionError(f"unexpected follow-up {task}")


def pulls_sync(repoid: int, pullid: int) -> tuple[str, str, dict[str, Any]]:
    return (PULLS_SYNC, f"{repoid}:{pullid}", {"repoid": repoid, "pullid": pullid, "should_send_notifications": False})


async def test_synchronize_refreshes_metadata_branches_and_schedules_pull_syncs(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed
) -> None:
    seeded = await seed()

    result = await run(session_factory, setup, seeded.repoid)

    assert result == {
        "branches": 3,
        "pulls_scheduled": 2,
        "repo_updated": ["private", "language", "branch"],
        "branches_written": 3,
        "branches_removed": 0,
    }
    async with session_factory() as s:
        repo = await s.get(Repo, seeded.repoid)
    assert repo is not None and (repo.name, repo.private, repo.language, repo.branch) == (
        "widgets",
        True,
        "python",
        "main",
    )
    assert {n: head for n, (head, _) in (await branches(session_factory, seeded.repoid)).items()} == {
        "main": seeded.main,
        "feature": seeded.feature,
        "fix": seeded.fix,
    }
    assert await scheduled(session_factory) == [pulls_sync(seeded.repoid, 1), pulls_sync(seeded.repoid, 2)]


async def test_synchronize_twice_is_a_no_op(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, storage: LocalStorage
) -> None:
    # Given a synchronized repo whose scheduled pulls.Sync records have run
    seeded = await seed()
    await run(session_factory, setup, seeded.repoid)
    for pullid in (1, 2):
        async with session_factory.begin() as s:
            await sync_pull(
                s,
                setup,
                storage,
                repoid=seeded.repoid,
                pullid=pullid,
                should_send_notifications=False,
                schedule=never_scheduled,
            )
    async with session_factory() as s:
        stamp = (await s.get_one(Repo, seeded.repoid)).updatestamp
    before = await branches(session_factory, seeded.repoid)

    # When it is synchronized again with nothing changed on the provider
    again = await run(session_factory, setup, seeded.repoid)

    # Then nothing is written and nothing more is scheduled
    assert again == {
        "branches": 3,
        "pulls_scheduled": 0,
        "repo_updated": [],
        "branches_written": 0,
        "branches_removed": 0,
    }
    assert await branches(session_factory, seeded.repoid) == before
    async with session_factory() as s:
        assert (await s.get_one(Repo, seeded.repoid)).updatestamp == stamp
    assert len(await scheduled(session_factory)) == 2


async def test_synchronize_schedules_only_pulls_whose_head_moved_or_closed(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    # Given pulls stored with the provider's heads, then a push to feature, pull #2 closed and pull #3
    # stored as open but gone from the provider's open list
    seeded = await seed()
    async with session_factory.begin() as s:
        await create_pull(s, repoid=seeded.repoid, pullid=1, head=seeded.feature)
        await create_pull(s, repoid=seeded.repoid, pullid=2, head=seeded.fix)
        await create_pull(s, repoid=seeded.repoid, pullid=3, head="0" * 40)
        await create_pull(s, repoid=seeded.repoid, pullid=4, head="1" * 40, state="merged")
    pushed = fake_github.add_commit("alice/widgets", branch="feature", files={"a.py": b"a = 3\n"}).sha
    fake_github.pulls[("alice/widgets", 1)].head_sha = pushed
    fake_github.pulls[("alice/widgets", 2)].state = "closed"

    result = await run(session_factory, setup, seeded.repoid)

    assert result["pulls_scheduled"] == 3
    assert await scheduled(session_factory) == [
        pulls_sync(seeded.repoid, 1),
        pulls_sync(seeded.repoid, 2),
        pulls_sync(seeded.repoid, 3),
    ]
    assert (await branches(session_factory, seeded.repoid))["feature"][0] == pushed


async def test_synchronize_removes_branches_deleted_on_the_provider(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    await run(session_factory, setup, seeded.repoid)
    del fake_github.repos["alice/widgets"].branches["fix"]

    result = await run(session_factory, setup, seeded.repoid)

    assert (result["branches"], result["branches_written"], result["branches_removed"]) == (2, 0, 1)
    assert set(await branches(session_factory, seeded.repoid)) == {"main", "feature"}


async def test_synchronize_reports_missing_repo_and_missing_token(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed(token=None)

    assert await run(session_factory, setup, 4040) == {"branches": 0, "pulls_scheduled": 0, "reason": "repo_not_found"}
    assert await run(session_factory, setup, seeded.repoid) == {
        "branches": 0,
        "pulls_scheduled": 0,
        "reason": "no_valid_bot",
    }
    assert fake_github.requests == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda gh: gh.revoke(TOKEN), "unauthorized"),
        (lambda gh: gh.repos.pop("alice/widgets"), "repo_not_found_on_provider"),
        (lambda gh: setattr(gh.repos["alice/widgets"], "id", 999), "provider_repo_mismatch"),
    ],
    ids=["token_revoked", "repo_gone", "recreated_under_the_same_name"],
)
async def test_synchronize_gives_a_clear_result_when_the_provider_refuses(
    session_factory: Sessions,
    setup: ProviderSetup,
    seed: Seed,
    fake_github: FakeGitHub,
    change: Callable[[FakeGitHub], object],
    reason: str,
) -> None:
    seeded = await seed()
    change(fake_github)

    result = await run(session_factory, setup, seeded.repoid)

    assert result == {"branches": 0, "pulls_scheduled": 0, "reason": reason}
    assert await branches(session_factory, seeded.repoid) == {}


async def test_synchronize_rate_limited_is_retried_at_the_reset_time(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    reset_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    fake_github.rate_limit(reset_at=reset_at)

    with pytest.raises(ProviderRateLimited) as raised:
        await run(session_factory, setup, seeded.repoid)

    assert raised.value.at == reset_at
    assert await branches(session_factory, seeded.repoid) == {}


async def test_synchronize_provider_error_is_retried_and_writes_nothing(
    session_factory: Sessions, setup: ProviderSetup, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    fake_github.fail_next(500, path="/repos/alice/widgets/pulls")

    with pytest.raises(ProviderServerError):
        await run(session_factory, setup, seeded.repoid)

    assert await branches(session_factory, seeded.repoid) == {}
    assert await scheduled(session_factory) == []
    async with session_factory() as s:
        assert (await s.scalars(select(Pull))).all() == []
