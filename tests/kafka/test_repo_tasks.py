"""VerifyBot, RemoveOldHook, Synchronize and pulls.Sync end to end on the real broker.

The project's producer (or raw bytes) -> Kafka -> the worker's agents -> PostgreSQL, talking to
the fake GitHub over HTTP. Redelivered records change things once and write to the provider
once; rate limits and provider errors go through the pipeline's delayed retries.
"""

# ruff: noqa: F811 - pytest fixtures imported from tests.fakes.plugin are parameters by the same name

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.agents import HANDLERS, pulls_sync, remove_webhook, synchronize, verify_bot  # noqa: F401 (registration)
from stream_app.client import TaskProducer, build_record
from stream_app.models import Owner, ProcessedRecord, Pull, Repo
from stream_app.ops.topics import create_topics
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.tasks import group_for, topic_for
from stream_app.tokens import encrypt_token
from stream_app.worker import Worker
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import fake_github  # noqa: F401
from tests.integration.test_pulls_sync import EXPECTED_DIFF_TOTALS, write_head_report
from tests.integration.test_pulls_sync import build_fake as build_pull_world
from tests.integration.test_synchronize import build_fake as build_sync_world
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import committed_offsets, produce_raw, read_all, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.db]

TOKEN, BOT_TOKEN = "gho_alice", "gho_bot"
NOTIFY = "app.tasks.notify.Notify"
PULLS_SYNC = "app.tasks.pulls.Sync"
Sessions = async_sessionmaker[AsyncSession]
RunWorker = Callable[[], AbstractAsyncContextManager[Worker]]


@pytest.fixture
async def task_settings(settings: Settings, fake_github: FakeGitHub) -> Settings:
    """The worker's settings, pointing at the fake GitHub, with topics for every agent and Notify."""
    await create_topics(settings, tasks=[*HANDLERS, NOTIFY])
    return settings.model_copy(
        update={"github_api_url": fake_github.url, "encryption_key": Fernet.generate_key().decode()}
    )


@pytest.fixture
def archive(task_settings: Settings) -> LocalStorage:
    return LocalStorage(Path(task_settings.storage_url.removeprefix("file://")))


@pytest.fixture
def worker(run_worker: WorkerFactory, task_settings: Settings) -> RunWorker:
    return lambda: run_worker(HANDLERS, **task_settings.model_dump(include={"github_api_url", "encryption_key"}))


async def seed_alice(sessions: Sessions, settings: Settings, gh: FakeGitHub, **repo: Any) -> tuple[int, int]:
    """The owner row of the fake's `alice` (her token stored encrypted) and her repo `widgets`."""
    stored = encrypt_token(TOKEN, settings.encryption_key)
    async with sessions.begin() as s:
        ownerid = await create_owner(s, service_id=str(gh.accounts["alice"].id), username="alice", oauth_token=stored)
        service_id = str(gh.repos["alice/widgets"].id)
        return ownerid, await create_repo(s, ownerid=ownerid, name="widgets", service_id=service_id, **repo)


async def send(settings: Settings, task: str, **args: Any) -> str:
    async with TaskProducer(settings.kafka_bootstrap, topic_prefix=settings.topic_prefix) as producer:
        return await producer.send(task, **args)


async def send_twice(settings: Settings, task: str, **args: Any) -> str:
    """The same record delivered twice (a crash before the offset commit, or a replay)."""
    name, record_id, key, value = build_record(task, args)
    keys = [key.encode(), key.encode()] if key else None
    await produce_raw(settings.kafka_bootstrap, topic_for(name, settings.topic_prefix), [value, value], keys=keys)
    return record_id


async def processed(sessions: Sessions, record_id: str) -> ProcessedRecord:
    async def done() -> bool:
        async with sessions() as s:
            return await s.get(ProcessedRecord, record_id) is not None

    await wait_until(done, what=f"record {record_id} processed")
    async with sessions() as s:
        row = await s.get(ProcessedRecord, record_id)
        assert row is not None
        return row


def committed(settings: Settings, task: str, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        offsets = await committed_offsets(settings.kafka_bootstrap, group_for(task, settings.group_id))
        return sum(offsets.values()) == n

    return check


async def test_verify_bot_end_to_end_clears_a_revoked_bot(
    task_settings: Settings, session_factory: Sessions, worker: RunWorker, fake_github: FakeGitHub
) -> None:
    fake_github.add_user("alice", token=TOKEN)
    bot_account = fake_github.add_user("bot", token=BOT_TOKEN)
    fake_github.add_repo("alice/widgets", private=True, collaborators={"bot"})
    async with session_factory.begin() as s:
        stored = encrypt_token(BOT_TOKEN, task_settings.encryption_key)
        bot = await create_owner(s, service_id=str(bot_account.id), username="bot", oauth_token=stored)
    _, repoid = await seed_alice(session_factory, task_settings, fake_github, bot=bot)
    fake_github.revoke(BOT_TOKEN)

    record_id = await send_twice(task_settings, "verify_bot", repoid=repoid)
    async with worker():
        result = (await processed(session_factory, record_id)).result
        await wait_until(committed(task_settings, "app.tasks.bot.VerifyBot", 2), what="both deliveries handled")

    assert fake_github.count("GET", "/user") == 2  # the bot, then alice: checked once, not per delivery
    assert result is not None
    assert (result["valid"], result["token_source"]) == (True, "owner")
    assert result["action"] == "cleared_repo_bot+flagged_bot_token"
    async with session_factory() as s:
        repo, bot_row = await s.get(Repo, repoid), await s.get(Owner, bot)
    assert repo is not None and repo.bot is None
    assert bot_row is not None and bot_row.oauth_token is None


async def test_remove_webhook_redelivered_deletes_once(
    task_settings: Settings, session_factory: Sessions, worker: RunWorker, fake_github: FakeGitHub
) -> None:
    fake_github.add_user("alice", token=TOKEN)
    fake_github.add_repo("alice/widgets").hooks[77] = {"config": {"url": "https://codecov.example/hook"}}
    _, repoid = await seed_alice(session_factory, task_settings, fake_github, hookid="77")

    record_id = await send_twice(task_settings, "remove_webhook", repoid=repoid)
    async with worker():
        assert (await processed(session_factory, record_id)).result == {"removed": True}
        task = "app.tasks.remove_webhook.RemoveOldHook"
        await wait_until(committed(task_settings, task, 2), what="both deliveries handled and committed")

    assert fake_github.count("DELETE", "/repos/alice/widgets/hooks/77") == 1
    async with session_factory() as s:
        repo = await s.get(Repo, repoid)
        assert repo is not None and repo.hookid is None
        assert await s.scalar(select(func.count()).select_from(ProcessedRecord)) == 1


async def test_remove_webhook_rate_limited_runs_again_at_the_reset_time(
    task_settings: Settings,
    session_factory: Sessions,
    worker: RunWorker,
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_user("alice", token=TOKEN)
    fake_github.add_repo("alice/widgets").hooks[77] = {"config": {"url": "https://codecov.example/hook"}}
    _, repoid = await seed_alice(session_factory, task_settings, fake_github, hookid="77")
    reset_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    fake_github.rate_limit(reset_at=reset_at, times=1)

    async with worker():
        row = await processed(session_factory, await send(task_settings, "remove_webhook", repoid=repoid))

    assert row.result == {"removed": True}
    assert row.attempt == 1 and row.processed_at >= reset_at  # parked until the provider's reset
    assert fake_github.count("DELETE") == 2  # the limited one, then the real one


async def test_remove_webhook_provider_error_is_retried(
    task_settings: Settings, session_factory: Sessions, worker: RunWorker, fake_github: FakeGitHub
) -> None:
    fake_github.add_user("alice", token=TOKEN)
    fake_github.add_repo("alice/widgets").hooks[77] = {"config": {"url": "https://codecov.example/hook"}}
    _, repoid = await seed_alice(session_factory, task_settings, fake_github, hookid="77")
    fake_github.fail_next(502, method="DELETE")

    async with worker():
        row = await processed(session_factory, await send(task_settings, "remove_webhook", repoid=repoid))

    assert (row.result, row.attempt) == ({"removed": True}, 1)
    assert fake_github.repos["alice/widgets"].hooks == {}


async def test_synchronize_end_to_end_runs_the_pull_syncs_it_schedules(
    task_settings: Settings,
    session_factory: Sessions,
    worker: RunWorker,
    fake_github: FakeGitHub,
) -> None:
    build_sync_world(fake_github)
    _, repoid = await seed_alice(session_factory, task_settings, fake_github)

    async def pulls_stored() -> bool:
        async with session_factory() as s:
            stored: int | None = await s.scalar(select(func.count()).select_from(Pull).where(Pull.repoid == repoid))
            return stored == 2

    record_id = await send_twice(task_settings, "synchronize", repoid=repoid)
    async with worker():
        result = (await processed(session_factory, record_id)).result
        await wait_until(committed(task_settings, "app.tasks.synchronize.Synchronize", 2), what="both deliveries")
        await wait_until(pulls_stored, what="the scheduled pulls.Sync records stored both pulls")
        pull_syncs = await read_all(
            task_settings.kafka_bootstrap, topic_for(PULLS_SYNC, task_settings.topic_prefix), expect=2
        )

    assert len(pull_syncs) == 2  # scheduled once, not once per delivery
    assert result is not None
    assert (result["branches"], result["pulls_scheduled"]) == (3, 2)
    async with session_factory() as s:
        heads = dict((await s.execute(select(Pull.pullid, Pull.head).where(Pull.repoid == repoid))).all())
    assert heads == {
        1: fake_github.repos["alice/widgets"].branches["feature"],
        2: fake_github.repos["alice/widgets"].branches["fix"],
    }


async def test_pulls_sync_end_to_end_redelivered_notifies_once(
    task_settings: Settings,
    session_factory: Sessions,
    archive: LocalStorage,
    worker: RunWorker,
    fake_github: FakeGitHub,
) -> None:
    _, _, pull_commits = build_pull_world(fake_github)
    _, repoid = await seed_alice(session_factory, task_settings, fake_github)
    await write_head_report(archive, repoid, pull_commits[-1])

    record_id = await send_twice(task_settings, "pulls_sync", repoid=repoid, pullid=1, should_send_notifications=True)
    async with worker():
        result = (await processed(session_factory, record_id)).result
        await wait_until(committed(task_settings, PULLS_SYNC, 2), what="both deliveries handled")
        notifies = await read_all(
            task_settings.kafka_bootstrap, topic_for(NOTIFY, task_settings.topic_prefix), expect=1
        )

    assert result == {"pull_updated": True, "merged_count": 0, "soft_deleted_count": 0, "notifier_called": True}
    assert len(notifies) == 1 and f'"commitid":"{pull_commits[-1]}"'.encode() in notifies[0].value
    assert fake_github.count("GET", "/repos/alice/widgets/pulls/1") == 2  # the pull and its commits, once
    async with session_factory() as s:
        pull = await s.scalar(select(Pull).where(Pull.repoid == repoid, Pull.pullid == 1))
    assert pull is not None and pull.diff is not None and pull.diff["totals"] == EXPECTED_DIFF_TOTALS
