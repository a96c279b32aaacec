"""A probe task handler for pipeline tests: one non-idempotent row per run, so a double
application shows up as two rows. It handles FlushRepo-shaped records (args: repoid)."""

from __future__ import annotations

import asyncio
import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.errors import PermanentError, RetryLater
from stream_app.pipeline.context import Result, TaskContext
from stream_app.task_args import FlushRepoV1

TASK = "app.tasks.flush_repo.FlushRepo"
PROBE_DDL = """
CREATE TABLE IF NOT EXISTS probe_runs (
    id bigserial PRIMARY KEY,
    record_id text NOT NULL,
    repoid int NOT NULL,
    attempt int NOT NULL,
    worker text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""
SLEEP = float(os.environ.get("PROBE_SLEEP", "0"))
WORKER = os.environ.get("PROBE_WORKER", "")
TRANSIENT_UNTIL_ATTEMPT = 2  # repoid -1: fails transiently until this attempt
PERMANENT_REPOID = -2
OUTSIDE_DOWN_REPOID = -3  # the outside world refuses a connection on the first attempt


async def create_probe_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(PROBE_DDL))
        await conn.execute(text("TRUNCATE probe_runs"))


async def probe(ctx: TaskContext, args: FlushRepoV1) -> Result:
    if args.repoid == -1 and ctx.attempt < TRANSIENT_UNTIL_ATTEMPT:
        raise RetryLater("provider answered 503")
    if args.repoid == OUTSIDE_DOWN_REPOID and ctx.attempt == 0:
        raise ConnectionRefusedError("the provider refused the connection")  # not our database
    if args.repoid == PERMANENT_REPOID:
        raise PermanentError("repo_archived", "the provider says this repo is archived")
    if SLEEP:
        await asyncio.sleep(SLEEP)  # simulated provider I/O
    await ctx.session.execute(
        text("INSERT INTO probe_runs (record_id, repoid, attempt, worker) VALUES (:r, :k, :a, :w)"),
        {"r": ctx.record_id, "k": args.repoid, "a": ctx.attempt, "w": WORKER},
    )
    return {"repoid": args.repoid}
