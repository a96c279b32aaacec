"""SyncTeams, SyncRepos and SyncPlans end to end: producer -> Kafka -> worker -> PostgreSQL, fake GitHub."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import stream_app.agents.ghm_sync_plans
import stream_app.agents.sync_repos
import stream_app.agents.sync_teams  # noqa: F401 - registers the handlers
from stream_app.agents.registry import HANDLERS
from stream_app.client import TaskProducer, build_record
from stream_app.models import OutboxRecord, Owner, ProcessedRecord, Repo
from stream_app.ops.topics import create_topics
from stream_app.providers.github_app import default_github_app
from stream_app.settings import Settings
from stream_app.tasks import group_for, topic_for
from stream_app.tokens import encrypt_token
from stream_app.worker import Worker
from tests.factories import create_owner
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import APP_ID, app_private_key, fake_github, private_pem, public_pem  # noqa: F401
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import committed_offsets, produce_raw, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.db]

SYNC_TEAMS = "app.tasks.sync_teams.SyncTeams"
SYNC_REPOS = "app.tasks.sync_repos.SyncRepos"
SYNC_PLANS = "app.tasks.ghm_sync_plans.SyncPlans"
TASKS = [SYNC_TEAMS, SYNC_REPOS, SYNC_PLANS]
TOKEN = "gho_alice"
KEY = Fernet.generate_key().decode()  # this module's tokens at rest
WRITES = ("POST", "PATCH", "PUT", "DELETE")
Sessions = async_sessionmaker[AsyncSession]
RunWorker = Callable[[], AbstractAsyncContextManager[Worker]]


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:  # noqa: F811
    fake_github.add_user("alice", token=TOKEN)
    fake_github.add_org("acme", members=["alice"], name="Acme")
    fake_github.add_repo("alice/secret", private=True)
    fake_github.add_repo("acme/widgets", private=True)
    fake_github.add_repo("acme/docs")
    return fake_github


@pytest.fixture
async def task_settings(settings: Settings, gh: FakeGitHub) -> Settings:
    await create_topics(settings, tasks=TASKS)
    return settings.model_copy(update={"github_api_url": gh.url, "encryption_key": KEY})


@pytest.fixture
def worker(run_worker: WorkerFactory, task_settings: Settings) -> RunWorker:
    handlers = {task: HANDLERS[task] for task in TASKS}
    return lambda: run_worker(handlers, github_api_url=task_settings.github_api_url, encryption_key=KEY)


@pytest.fixture
def app_env(gh: FakeGitHub, app_private_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # noqa: F811
    """The worker's GitHub App (read from the environment), registered with the fake."""
    gh.register_app(APP_ID, public_pem(app_private_key))
    monkeypatch.setenv("STREAM_APP_GITHUB_APP_APP_ID", str(APP_ID))
    monkeypatch.setenv("STREAM_APP_GITHUB_APP_PRIVATE_KEY", private_pem(app_private_key))
    default_github_app.cache_clear()
    yield
    default_github_app.cache_clear()


@pytest.fixture
async def alice(gh: FakeGitHub, session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory.begin() as s:
        token = encrypt_token(TOKEN, KEY)
        return await create_owner(s, service_id=str(gh.accounts["alice"].id), username="alice", oauth_token=token)


async def send(settings: Settings, task: str, **args: Any) -> str:
    async with TaskProducer(settings.kafka_bootstrap, topic_prefix=settings.topic_prefix) as producer:
        return await producer.send(task, **args)


async def send_twice(settings: Settings, task: str, **args: Any) -> str:
    """The same record delivered twice (a crash before the offset commit, or a replay)."""
    name, record_id, key, value = build_record(task, args)
    keys: list[bytes | None] | None = [key.encode()] * 2 if key else None
    await produce_raw(settings.kafka_bootstrap, topic_for(name, settings.topic_prefix), [value, value], keys=keys)
    return record_id


async def processed(sessions: async_sessionmaker[AsyncSession], *, record_id: str | None = None, task: str = "") -> Any:
    """The ledger row of a record (by id, or the first of a task), once it is there."""
    query = select(ProcessedRecord).where(
        ProcessedRecord.record_id == record_id if record_id else ProcessedRecord.task == task
    )

    async def done() -> bool:
        async with sessions() as s:
            return (await s.scalars(query)).first() is not None

    await wait_until(done, what=f"record {record_id or task} processed")
    async with sessions() as s:
        return (await s.scalars(query)).first()


async def owner(sessions: async_sessionmaker[AsyncSession], ownerid: int) -> Owner:
    async with sessions() as s:
        row = await s.get(Owner, ownerid)
        assert row is not None
        return row


async def both_committed(settings: Settings, task: str) -> bool:
    offsets = await committed_offsets(settings.kafka_bootstrap, group_for(task, settings.group_id))
    return sum(offsets.values()) == 2


async def test_sync_teams_delivered_twice_chains_sync_repos_once(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    rid = await send_twice(task_settings, SYNC_TEAMS, ownerid=alice, username="alice", chain_sync_repos=True)

    async with worker():
        teams = await processed(session_factory, record_id=rid)
        repos = await processed(session_factory, task=SYNC_REPOS)
        await wait_until(lambda: both_committed(task_settings, SYNC_TEAMS), what="both deliveries committed")

    async with session_factory() as s:
        acme = await s.scalar(select(Owner.ownerid).where(Owner.username == "acme"))
        private = list(await s.scalars(select(Repo.repoid).where(Repo.private.is_(True)).order_by(Repo.repoid)))
        ledger = (await s.execute(select(ProcessedRecord.task, func.count()).group_by(ProcessedRecord.task))).all()
    assert teams.result == {"orgs": [acme], "removed": [], "sync_repos_scheduled": True}
    assert repos.result["private_repoids"] == private and len(repos.result["repoids"]) == 3
    alice_row = await owner(session_factory, alice)
    assert (alice_row.organizations, alice_row.permission) == ([acme], private)
    assert sorted(ledger) == [(SYNC_REPOS, 1), (SYNC_TEAMS, 1)]  # the redelivery scheduled nothing more
    assert (gh.count("GET", "/user/orgs"), gh.count("GET", "/user/repos")) == (1, 1)
    assert not [r for r in gh.requests if r.method in WRITES]


async def test_sync_repos_delivered_twice_runs_once(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    rid = await send_twice(task_settings, SYNC_REPOS, ownerid=alice)
    async with worker():
        first = await processed(session_factory, record_id=rid)
        await wait_until(lambda: both_committed(task_settings, SYNC_REPOS), what="both deliveries committed")

    assert len(first.result["repoids"]) == 3
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(ProcessedRecord)) == 1
        assert await s.scalar(select(func.count()).select_from(Repo)) == 3
    assert gh.count("GET", "/user/repos") == 1  # the redelivery found the ledger row, asked nothing
    assert not [r for r in gh.requests if r.method in WRITES]


async def sync_repos_results(sessions: Sessions) -> list[dict[str, Any]]:
    """The ledger results of every SyncRepos record so far, by page."""
    async with sessions() as s:
        rows = await s.scalars(select(ProcessedRecord.result).where(ProcessedRecord.task == SYNC_REPOS))
        return sorted((r for r in rows if r is not None), key=lambda r: (r.get("page", 0), str(r)))


async def test_a_multi_page_account_syncs_fully_one_record_per_page(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    for n in range(247):  # with the 3 above: 250 repos, 3 pages of 100
        gh.add_repo(f"alice/r{n:03}", private=n % 2 == 0)

    async def last_page_done() -> bool:
        return any(r.get("continued") is False for r in await sync_repos_results(session_factory))

    async with worker():
        await send(task_settings, SYNC_REPOS, ownerid=alice)
        await wait_until(last_page_done, what="the last page")

    results = await sync_repos_results(session_factory)
    assert [(r["page"], r["continued"], len(r["repoids"])) for r in results] == [
        (1, True, 100),
        (2, True, 100),
        (3, False, 50),
    ]
    async with session_factory() as s:
        private = list(await s.scalars(select(Repo.repoid).where(Repo.private.is_(True)).order_by(Repo.repoid)))
        assert await s.scalar(select(func.count()).select_from(Repo)) == 250
        assert await s.scalar(select(func.count()).select_from(OutboxRecord)) == 0
    assert results[-1]["private_total"] == len(private) == 124 + 2
    assert (await owner(session_factory, alice)).permission == private
    assert [r.query.get("page", "1") for r in gh.requests if r.path == "/user/repos"] == ["1", "2", "3"]


async def test_a_continuation_delivered_twice_schedules_the_next_page_once(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    for n in range(247):
        gh.add_repo(f"alice/r{n:03}")
    cursor = "/user/repos?per_page=100&page=2"
    rid = await send_twice(task_settings, SYNC_REPOS, ownerid=alice, cursor=cursor, page=2)

    async def last_page_done() -> bool:
        return any(r.get("page") == 3 for r in await sync_repos_results(session_factory))

    async def all_committed() -> bool:  # both deliveries of page 2, then page 3, on the owner's partition
        offsets = await committed_offsets(task_settings.kafka_bootstrap, group_for(SYNC_REPOS, task_settings.group_id))
        return sum(offsets.values()) == 3

    async with worker():
        await processed(session_factory, record_id=rid)
        await wait_until(last_page_done, what="page 3")
        await wait_until(all_committed, what="three records committed")
        await asyncio.sleep(1.0)  # time for a second continuation to show up, if there were one

    assert [(r["page"], r["continued"]) for r in await sync_repos_results(session_factory)] == [(2, True), (3, False)]
    assert [r.query.get("page") for r in gh.requests if r.path == "/user/repos"] == ["2", "3"]


async def test_a_rate_limited_sync_waits_in_the_outbox_until_the_reset(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    gh.rate_limit(reset_at=reset)
    query = select(OutboxRecord).where(OutboxRecord.topic == topic_for(SYNC_REPOS, task_settings.topic_prefix))

    async def parked() -> bool:
        async with session_factory() as s:
            return (await s.scalars(query)).first() is not None

    async with worker():
        await send(task_settings, SYNC_REPOS, ownerid=alice)
        await wait_until(parked, what="the retry parked in the outbox")

    async with session_factory() as s:
        [row] = (await s.scalars(query)).all()
        assert await s.scalar(select(func.count()).select_from(ProcessedRecord)) == 0
    assert row.not_before == reset
    assert row.reason is not None and row.reason.startswith("retry_later: provider_rate_limited")
    assert TOKEN.encode() not in row.value and TOKEN not in row.reason


async def test_a_rate_limited_sync_is_applied_after_the_reset(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    gh.rate_limit(reset_at=reset, times=1)

    async with worker():
        rid = await send(task_settings, SYNC_TEAMS, ownerid=alice)
        row = await processed(session_factory, record_id=rid)

    assert row.processed_at >= reset and row.attempt == 1
    assert row.result["removed"] == [] and len(row.result["orgs"]) == 1


async def test_a_server_error_is_retried(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    gh.fail_next(502, path="/user/repos")

    async with worker():
        rid = await send(task_settings, SYNC_REPOS, ownerid=alice)
        row = await processed(session_factory, record_id=rid)

    assert len(row.result["repoids"]) == 3 and row.attempt == 1
    assert gh.count("GET", "/user/repos") == 2


async def test_revoked_token_and_missing_owner_end_with_clear_results(
    task_settings: Settings, worker: RunWorker, alice: int, gh: FakeGitHub, session_factory: Sessions
) -> None:
    gh.revoke(TOKEN)

    async with worker():
        revoked = await send(task_settings, SYNC_REPOS, ownerid=alice)
        missing = await send(task_settings, SYNC_TEAMS, ownerid=alice + 1000)
        revoked_row = await processed(session_factory, record_id=revoked)
        missing_row = await processed(session_factory, record_id=missing)

    assert revoked_row.result == {"reason": "unauthorized", "pages_synced": 0}
    assert missing_row.result == {"reason": "owner_not_found"}


@pytest.mark.usefixtures("app_env")
async def test_sync_plans_end_to_end_delivered_twice(
    task_settings: Settings, worker: RunWorker, gh: FakeGitHub, session_factory: Sessions
) -> None:
    gh.add_marketplace_account("acme", unit_count=25)
    sender = {"id": gh.accounts["alice"].id, "login": "alice", "type": "User"}
    acme = {"id": gh.accounts["acme"].id, "login": "acme", "type": "Organization"}
    rid = await send_twice(task_settings, SYNC_PLANS, sender=sender, account=acme, action="purchased")

    async with worker():
        row = await processed(session_factory, record_id=rid)
        await wait_until(lambda: both_committed(task_settings, SYNC_PLANS), what="both deliveries committed")

    assert (row.result["plan_type_synced"], row.result["plan_removed"]) == ("paid", False)
    acme_row = await owner(session_factory, row.result["ownerid"])
    assert (acme_row.username, acme_row.plan, acme_row.plan_user_count) == ("acme", "users", 25)
    assert gh.count("GET", "/marketplace_listing/") == 1
    assert not [r for r in gh.requests if r.method in WRITES]
