"""Waiting for a worker that knows a record's version spends none of the task's own retries:
a rolling deploy must not leave a record one transient failure away from its dead letter."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app import records
from stream_app.errors import RetryLater
from stream_app.pipeline.context import Result, TaskContext
from stream_app.records import TaskSpec
from stream_app.settings import Settings
from stream_app.task_args import FlushRepoV1
from tests.fakes.pipeline import RecordLoop
from tests.support.probe import TASK
from tests.support.records import raw

pytestmark = pytest.mark.db


class FlushRepoV2(FlushRepoV1):
    """The version a newer producer already sends and this worker does not know yet."""


async def test_a_record_that_waited_out_a_rolling_deploy_keeps_all_of_its_retries(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    async def flaky(ctx: TaskContext, args: FlushRepoV1) -> Result:  # one transient provider failure
        attempts.append(ctx.attempt)
        if len(attempts) == 1:
            raise RetryLater("the provider answered 503")
        return {"repoid": args.repoid}

    settings = Settings()  # max_attempts 8, newer_version_max_attempts 20
    async with httpx.AsyncClient() as http:
        # Given a v2 record sent back 9 times by a worker that knows only v1 (17 minutes of backoff)
        old = RecordLoop(task=TASK, handler=flaky, sessions=session_factory, settings=settings, http=http)
        old.send(raw({"repoid": 5}, version=2))
        for _ in range(9):
            assert [o.kind for o in await old.drain()] == ["retry_scheduled"]
            await old.fast_forward()
        key, value = old.pending.popleft()
        assert (json.loads(value).get("attempt", 0), json.loads(value)["version_waits"]) == (0, 9)

        # When the upgraded worker, which knows v2, runs it and the provider fails once
        spec = records.REGISTRY[TASK]
        upgraded = TaskSpec(TASK, {1: FlushRepoV1, 2: FlushRepoV2}, spec.key, {1: lambda args: args})
        monkeypatch.setitem(records.REGISTRY, TASK, upgraded)
        new = RecordLoop(task=TASK, handler=flaky, sessions=session_factory, settings=settings, http=http)
        new.send(value, key)
        first = await new.drain()
        await new.fast_forward()
        second = await new.drain()

    # Then the failure is retried (its first retry, not its tenth), and the retry succeeds
    assert [o.kind for o in first] == ["retry_scheduled"]
    assert [o.kind for o in second] == ["done"]
    assert attempts == [0, 1]


async def test_newer_version_waits_have_their_own_limit(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async def never(ctx: TaskContext, args: FlushRepoV1) -> Result:
        raise AssertionError("a v1 worker never runs a v2 record")

    settings = Settings(newer_version_max_attempts=3)
    async with httpx.AsyncClient() as http:
        loop = RecordLoop(task=TASK, handler=never, sessions=session_factory, settings=settings, http=http)
        loop.send(raw({"repoid": 5}, version=2))
        kinds = []
        for _ in range(4):
            kinds += [o.kind for o in await loop.drain()]
            await loop.fast_forward()

    assert kinds == ["retry_scheduled"] * 3 + ["dead_lettered"]
    [(_, _, value, headers)] = loop.publisher.dead
    assert headers["error.reason"] == b"newer_version:retries_exhausted"
    assert json.loads(value)["version_waits"] == 3
