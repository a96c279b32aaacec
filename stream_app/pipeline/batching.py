"""Group commit: light records of one task type that are ready together share one transaction.

Why: a transaction through SQLAlchemy's AsyncSession costs ~0.9 ms of CPU before any task work
(bench/pipeline.py, docs/performance.md), so a one-row task spends most of its time on the
transaction, not the task. Records that are ready at the same moment run in one transaction
instead: one ledger claim for all, their handlers one after the other, one result update, one
commit. Each record keeps its own ledger row, result, follow-ups and log line.

When: only while the task type's handlers are light (`HandlerPace`). Handlers that wait on the
outside world (a provider call) never batch: in one transaction they would wait one after the
other instead of overlapping in their own transactions.

Failure: any exception rolls the whole batch back and every record of it runs alone through the
ordinary path, which retries, dead-letters or pauses exactly as it always does. Nothing of a
rolled-back batch was committed, so running a record again alone is the ordinary at-least-once
of a handler whose transaction did not commit. A batch never holds two records of one key (the
dispatcher runs a key's records one at a time) nor two records with one id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stream_app import records
from stream_app.db import SessionFactory
from stream_app.pipeline import ledger, outbox
from stream_app.pipeline.context import Delivery, Handler, TaskContext
from stream_app.pipeline.outcome import Outcome

log = logging.getLogger(__name__)
MakeContext = Callable[[AsyncSession, records.Envelope], TaskContext]


class HandlerPace:
    """Is this task type's handler light? Its run time measured in database round trips.

    Each run is compared with the ledger claim of the same transaction (one round trip under the
    same load), so a busy event loop, which slows both alike, does not change the verdict; a
    handler waiting on a provider takes hundreds of round trips and never batches. A starved
    machine can stretch one round trip to tens of milliseconds while a provider wait stays as
    long as it was, so a handler must also take at most `max_seconds` on average. A task starts
    unbatched and earns batching after `warmup` light runs (moving averages); a failed batch
    sends it back to the start, so a task whose records often fail stops batching.
    """

    def __init__(
        self, *, max_round_trips: float, max_seconds: float = 0.01, warmup: int = 16, weight: float = 0.1
    ) -> None:
        self._limit = max_round_trips
        self._max_seconds = max_seconds
        self._warmup = warmup
        self._weight = weight
        self._ratio = 0.0
        self._seconds = 0.0
        self._samples = 0

    @property
    def light(self) -> bool:
        return self._samples >= self._warmup and self._ratio <= self._limit and self._seconds <= self._max_seconds

    def observe(self, handler_seconds: float, round_trip_seconds: float) -> None:
        ratio = handler_seconds / max(round_trip_seconds, 1e-6)
        self._samples += 1
        first = self._samples == 1
        self._ratio = ratio if first else self._ratio + self._weight * (ratio - self._ratio)
        self._seconds = handler_seconds if first else self._seconds + self._weight * (handler_seconds - self._seconds)

    def reset(self) -> None:
        self._samples = 0


@dataclass
class _Item:
    delivery: Delivery
    env: records.Envelope
    args: Any
    future: asyncio.Future[Outcome | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    """Collects ready records and commits them in batches of at most `max_size`.

    `run` returns the record's outcome, or None when the record must run alone instead.
    Up to `leaders` batches run at once, so one batch's round trips overlap another's CPU.
    """

    def __init__(
        self,
        *,
        task: str,
        handler: Handler,
        sessions: SessionFactory,
        make_context: MakeContext,
        pace: HandlerPace,
        on_follow_ups: Callable[[], Any],
        max_size: int,
        leaders: int = 2,
    ) -> None:
        self._task = task
        self._handler = handler
        self._sessions = sessions
        self._make_context = make_context
        self._pace = pace
        self._on_follow_ups = on_follow_ups
        self._max_size = max_size
        self._max_leaders = leaders
        self._queue: deque[_Item] = deque()
        self._leading = 0  # leaders running; counted down in the same step their loop ends
        self._tasks: set[asyncio.Task[None]] = set()  # strong references to the leader tasks

    async def run(self, delivery: Delivery, env: records.Envelope, args: Any) -> Outcome | None:
        item = _Item(delivery, env, args)
        self._queue.append(item)
        self._ensure_leader()
        return await item.future

    def _ensure_leader(self) -> None:
        if self._leading < self._max_leaders:
            self._leading += 1
            task = asyncio.create_task(self._lead())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _lead(self) -> None:
        try:
            await asyncio.sleep(0)  # let the records that are ready now join the first batch
            while batch := self._take():
                await self._run_batch(batch)
        finally:
            # No await between the last empty `_take` and this: a record queued from now on
            # sees the count without this leader and starts one. A leader that ended by an
            # exception (a handler raising a BaseException) hands what is queued to a new one.
            self._leading -= 1
            if any(not item.future.done() for item in self._queue):
                self._ensure_leader()

    async def _run_batch(self, batch: list[_Item]) -> None:
        outcomes: list[Outcome | None] = [None] * len(batch)
        try:
            outcomes = list(await self._commit(batch))
        except Exception as exc:
            self._pace.reset()
            log.info("a batch of %d %s records rolled back (%s); each runs alone", len(batch), self._task, exc)
        finally:  # also on cancellation: a record without an outcome runs alone
            for item, outcome in zip(batch, outcomes, strict=True):
                if not item.future.done():
                    item.future.set_result(outcome)

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        ids: set[str] = set()
        later: list[_Item] = []
        while self._queue and len(batch) < self._max_size:
            item = self._queue.popleft()
            if item.future.done():  # its caller was cancelled (shutdown): it stays unacked
                continue
            if item.env.id in ids:  # the same record twice: the second waits for the first's commit
                later.append(item)
                continue
            ids.add(item.env.id)
            batch.append(item)
        self._queue.extendleft(reversed(later))
        return batch

    async def _commit(self, batch: list[_Item]) -> list[Outcome]:
        ready = [(item.delivery, item.env, item.args) for item in batch]
        outcomes, follow_ups = await commit_together(
            self._sessions, self._task, self._handler, self._make_context, self._pace, ready
        )
        if follow_ups:
            self._on_follow_ups()
        return outcomes


Ready = tuple[Delivery, records.Envelope, Any]  # a decoded record, ready for its handler


async def commit_together(
    sessions: SessionFactory,
    task: str,
    handler: Handler,
    make_context: MakeContext,
    pace: HandlerPace,
    ready: list[Ready],
) -> tuple[list[Outcome], bool]:
    """The records' handlers in one transaction with their ledger rows; (outcomes, wrote follow-ups).

    One record alone is a batch of one. Exceptions propagate: the transaction is rolled back.
    """
    outcomes: list[Outcome] = []
    results: list[tuple[str, str]] = []
    async with sessions.begin() as session:
        claims = [(env.id, delivery, env.attempt) for delivery, env, _ in ready]
        await session.connection()  # a wait for a pooled connection is no round trip
        started = time.perf_counter()
        claimed = await ledger.claim_many(session, task=task, claims=claims)
        round_trip = time.perf_counter() - started
        for _, env, args in ready:
            if env.id not in claimed:
                outcomes.append(Outcome("duplicate", env.id, env.attempt))
                continue
            started = time.perf_counter()
            result = await handler(make_context(session, env), args)
            pace.observe(time.perf_counter() - started, round_trip)
            results.append((env.id, json.dumps(result)))  # a result that cannot be logged is a bug: fail
            outcomes.append(Outcome("done", env.id, env.attempt, result=result))
        if results:
            await ledger.record_results(session, results)
        follow_ups = bool(session.info.get(outbox.FOLLOW_UPS))
    return outcomes, follow_ups
