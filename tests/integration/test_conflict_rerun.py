"""A serialization failure or deadlock is run again at once (up to 5 times), not paused for."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.pipeline.context import Result, TaskContext
from stream_app.settings import Settings
from stream_app.task_args import FlushRepoV1
from tests.fakes.pipeline import RecordLoop
from tests.support.probe import TASK
from tests.support.records import raw

pytestmark = pytest.mark.db


class SerializationFailure(Exception):
    """What asyncpg raises when PostgreSQL answers 40001."""

    sqlstate = "40001"


def conflicting(times: int, runs: list[int]) -> Any:
    async def handler(ctx: TaskContext, args: FlushRepoV1) -> Result:
        runs.append(args.repoid)
        if len(runs) <= times:
            raise SerializationFailure("could not serialize access due to concurrent update")
        return {"repoid": args.repoid}

    return handler


@pytest.mark.parametrize("conflicts", [1, 5])
async def test_a_conflict_runs_the_record_again_at_once(
    conflicts: int, session_factory: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []
    async with httpx.AsyncClient() as http:
        loop = RecordLoop(
            task=TASK, handler=conflicting(conflicts, runs), sessions=session_factory, settings=Settings(), http=http
        )
        loop.send(raw({"repoid": 4}))
        with caplog.at_level(logging.WARNING, logger="stream_app.records"):
            [outcome] = await loop.drain()

    assert outcome.kind == "done"
    assert runs == [4] * (conflicts + 1)
    assert not [r for r in caplog.records if r.getMessage().startswith("pausing")]


async def test_a_sixth_conflict_in_a_row_pauses_then_the_record_still_completes(
    session_factory: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []
    async with httpx.AsyncClient() as http:
        loop = RecordLoop(
            task=TASK, handler=conflicting(6, runs), sessions=session_factory, settings=Settings(), http=http
        )
        loop.send(raw({"repoid": 4}))
        with caplog.at_level(logging.WARNING, logger="stream_app.records"):
            [outcome] = await loop.drain()

    assert outcome.kind == "done" and len(runs) == 7
    assert len([r for r in caplog.records if r.getMessage().startswith("pausing")]) == 1
