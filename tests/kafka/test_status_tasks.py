"""SetPending and SetError end to end: producer -> Kafka -> agent -> fake GitHub, and redelivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import stream_app.agents.status_set_error
import stream_app.agents.status_set_pending  # noqa: F401 - registers the agents
from stream_app.agents.registry import HANDLERS
from stream_app.client import TaskProducer, build_record
from stream_app.models import ProcessedRecord
from stream_app.ops.topics import create_topics
from stream_app.services.status_rules import CI_FAILED_DESCRIPTION, PENDING_DESCRIPTION
from stream_app.settings import Settings
from stream_app.tasks import group_for, topic_for
from stream_app.tokens import encrypt_token
from stream_app.worker import Worker
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import committed_offsets, produce_raw, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.db]

SET_PENDING = "app.tasks.status.SetPending"
SET_ERROR = "app.tasks.status.SetError"
TOKEN = "gho_alice_token"
SLUG = "acme/widgets"
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def gh() -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub() as fake:
        fake.add_user("alice", token=TOKEN)
        fake.add_org("acme", members=["alice"])
        fake.add_repo(SLUG, private=True)
        yield fake


@pytest.fixture
async def status_settings(settings: Settings, gh: FakeGitHub) -> Settings:
    await create_topics(settings, tasks=[SET_PENDING, SET_ERROR])
    return settings.model_copy(update={"github_api_url": gh.url, "encryption_key": Fernet.generate_key().decode()})


@pytest.fixture
async def repoid(session_factory: Sessions, status_settings: Settings) -> int:
    async with session_factory.begin() as s:
        stored = encrypt_token(TOKEN, status_settings.encryption_key)
        return await create_repo(s, ownerid=await create_owner(s, username="acme", oauth_token=stored), name="widgets")


def worker(run_worker: WorkerFactory, settings: Settings) -> AbstractAsyncContextManager[Worker]:
    """A worker running only the two status tasks, talking to the fake GitHub."""
    handlers = {task: HANDLERS[task] for task in (SET_PENDING, SET_ERROR)}
    return run_worker(handlers, github_api_url=settings.github_api_url, encryption_key=settings.encryption_key)


def statuses(gh: FakeGitHub, sha: str) -> dict[str, tuple[str, str | None]]:
    return {s["context"]: (s["state"], s["description"]) for s in gh.statuses.get((SLUG, sha), [])}


async def result_of(sessions: Sessions, record_id: str) -> dict[str, Any]:
    async def done() -> bool:
        async with sessions() as s:
            return await s.get(ProcessedRecord, record_id) is not None

    await wait_until(done, what=f"record {record_id} processed")
    async with sessions() as s:
        row = await s.get(ProcessedRecord, record_id)
        assert row is not None
        assert isinstance(row.result, dict)
        return dict(row.result)


async def deliver_twice(settings: Settings, task: str, args: dict[str, Any]) -> str:
    """The same record bytes twice (a crash before the offset commit, or a replay); returns its id."""
    name, record_id, key, value = build_record(task, args)
    keys: list[bytes | None] | None = [key.encode()] * 2 if key else None
    await produce_raw(settings.kafka_bootstrap, topic_for(name, settings.topic_prefix), [value, value], keys=keys)
    return record_id


async def committed(settings: Settings, task: str, n: int) -> bool:
    return sum((await committed_offsets(settings.kafka_bootstrap, group_for(task, settings.group_id))).values()) == n


async def ledger_rows(sessions: Sessions) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(ProcessedRecord)) or 0)


async def test_set_pending_end_to_end_and_redelivery_posts_nothing_new(
    status_settings: Settings, session_factory: Sessions, run_worker: WorkerFactory, gh: FakeGitHub, repoid: int
) -> None:
    sha = gh.add_commit(SLUG, branch="main", files={"codecov.yml": b"coverage:\n  status:\n    changes: true\n"}).sha
    args = {"repoid": repoid, "commitid": sha, "branch": "main", "on_a_pull_request": False}

    async with worker(run_worker, status_settings):
        record_id = await deliver_twice(status_settings, SET_PENDING, args)
        result = await result_of(session_factory, record_id)
        await wait_until(lambda: committed(status_settings, SET_PENDING, 2), what="both deliveries committed")

    assert result == {"status_set": True, "contexts": ["codecov/project", "codecov/patch", "codecov/changes"]}
    assert gh.count("POST", f"/repos/{SLUG}/statuses/{sha}") == 3
    assert set(statuses(gh, sha).values()) == {("pending", PENDING_DESCRIPTION)}
    assert await ledger_rows(session_factory) == 1


async def test_set_error_end_to_end_and_redelivery_posts_nothing_new(
    status_settings: Settings, session_factory: Sessions, run_worker: WorkerFactory, gh: FakeGitHub, repoid: int
) -> None:
    sha = gh.add_commit(SLUG, branch="main").sha
    gh.statuses[(SLUG, sha)] = [
        {"context": "codecov/project", "state": "pending", "description": PENDING_DESCRIPTION},
        {"context": "ci/tests", "state": "failure", "description": "3 failed"},
    ]

    async with worker(run_worker, status_settings):
        record_id = await deliver_twice(
            status_settings, SET_ERROR, {"repoid": repoid, "commitid": sha, "message": None}
        )
        result = await result_of(session_factory, record_id)
        await wait_until(lambda: committed(status_settings, SET_ERROR, 2), what="both deliveries committed")
        # a second SetError for the same commit (a new record id) finds everything already said
        async with TaskProducer(status_settings.kafka_bootstrap, topic_prefix=status_settings.topic_prefix) as producer:
            again_id = await producer.send("status_set_error", repoid=repoid, commitid=sha)
        again = await result_of(session_factory, again_id)

    assert result == {"status_set": True, "contexts": ["codecov/project"]}
    assert again == {"status_set": False, "contexts": []}
    assert gh.count("POST", f"/repos/{SLUG}/statuses/{sha}") == 1
    assert statuses(gh, sha) == {
        "codecov/project": ("error", CI_FAILED_DESCRIPTION),
        "ci/tests": ("failure", "3 failed"),
    }


async def test_a_rate_limited_set_pending_runs_again_after_the_reset(
    status_settings: Settings, session_factory: Sessions, run_worker: WorkerFactory, gh: FakeGitHub, repoid: int
) -> None:
    sha = gh.add_commit(SLUG, branch="main").sha
    reset_at = datetime.now(UTC) + timedelta(seconds=2)
    gh.rate_limit(reset_at=reset_at, times=1)

    async with worker(run_worker, status_settings):
        async with TaskProducer(status_settings.kafka_bootstrap, topic_prefix=status_settings.topic_prefix) as producer:
            record_id = await producer.send(
                SET_PENDING, repoid=repoid, commitid=sha, branch="main", on_a_pull_request=True
            )
        result = await result_of(session_factory, record_id)

    assert result == {"status_set": True, "contexts": ["codecov/project", "codecov/patch"]}
    assert datetime.now(UTC) >= reset_at.replace(microsecond=0)
    assert gh.count("GET", f"/repos/{SLUG}/commits/{sha}/statuses") == 2  # refused once, then after the reset
    assert gh.count("POST", f"/repos/{SLUG}/statuses/{sha}") == 2
