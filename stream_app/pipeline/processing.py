"""One record, start to finish: decode, run in one transaction with the ledger, commit.

`RecordProcessor.process` never raises (bar cancellation): every record ends as done,
duplicate, deferred, retry_scheduled or dead_lettered, and only then may it be acked.
While PostgreSQL or Kafka is down it waits and tries again, so no offset moves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from aiokafka.errors import MessageSizeTooLargeError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app import records
from stream_app.db import SessionFactory
from stream_app.errors import InvalidRecord, NewerVersion, PermanentError, RetryLater
from stream_app.pipeline import outbox
from stream_app.pipeline.batching import GroupCommit, HandlerPace, commit_together
from stream_app.pipeline.context import Delivery, Handler, TaskContext
from stream_app.pipeline.deadletter import dead_letter_headers
from stream_app.pipeline.failures import is_conflict, is_database_error, is_infrastructure_down
from stream_app.pipeline.outcome import Outcome
from stream_app.pipeline.publisher import Publisher
from stream_app.settings import Settings
from stream_app.storage import ArchiveStorage
from stream_app.tasks import dlq_topic_for

log = logging.getLogger("stream_app.records")


class _Paused(Exception):
    """Our own infrastructure is down: wait and run the record again."""


class RecordProcessor:
    def __init__(
        self,
        *,
        task: str,
        handler: Handler,
        sessions: SessionFactory,
        storage: ArchiveStorage,
        publisher: Publisher,
        settings: Settings,
        http: httpx.AsyncClient,
        on_follow_ups: Any = None,
    ) -> None:
        self.task = task
        self._handler = handler
        self._sessions = sessions
        self._storage = storage
        self._publisher = publisher
        self._settings = settings
        self._http = http
        self._on_follow_ups = on_follow_ups or (lambda: None)
        self._dlq = dlq_topic_for(task, settings.topic_prefix)
        self._pace = HandlerPace(max_round_trips=settings.batch_max_round_trips)
        self._batches = (
            GroupCommit(
                task=task,
                handler=handler,
                sessions=sessions,
                make_context=self._context,
                pace=self._pace,
                on_follow_ups=self._on_follow_ups,
                max_size=settings.batch_max,
            )
            if settings.batch_max > 1
            else None
        )

    async def process(self, delivery: Delivery) -> Outcome:
        started = time.perf_counter()
        pause, conflicts = 0.25, 0
        while True:
            try:
                outcome = await self._attempt(delivery)
                break
            except Exception as exc:
                if is_conflict(exc) and conflicts < 5:
                    conflicts += 1
                    continue
                log.warning("pausing %s[%d]@%d: %s", delivery.topic, delivery.partition, delivery.offset, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
        self._log(delivery, outcome, time.perf_counter() - started)
        return outcome

    async def _attempt(self, delivery: Delivery) -> Outcome:
        try:
            env = records.parse_envelope(delivery.value, self._settings.max_record_bytes)
        except InvalidRecord as exc:
            return await self._dead_letter(delivery, None, exc.code, exc.detail)
        try:
            args = records.decode_args(env, expected_task=self.task)
        except InvalidRecord as exc:
            return await self._dead_letter(delivery, env, exc.code, exc.detail)
        except NewerVersion as exc:
            return await self._retry(delivery, env, "newer_version", str(exc), None)
        wait = (env.not_before - datetime.now(UTC)).total_seconds() if env.not_before else 0.0
        if wait > self._settings.inline_wait_seconds:
            return await self._defer(delivery, env)
        if wait > 0:
            await asyncio.sleep(wait)
        return await self._run(delivery, env, args)

    def _context(self, session: AsyncSession, env: records.Envelope) -> TaskContext:
        schedule = partial(outbox.schedule_task, session, self._settings.topic_prefix)
        return TaskContext(session, self._storage, env.id, env.attempt, schedule, self._settings, self._http)

    async def _run(self, delivery: Delivery, env: records.Envelope, args: Any) -> Outcome:
        if self._batches is not None and self._pace.light:
            outcome = await self._batches.run(delivery, env, args)
            if outcome is not None:
                return outcome
        return await self._run_alone(delivery, env, args)

    async def _run_alone(self, delivery: Delivery, env: records.Envelope, args: Any) -> Outcome:
        try:
            [outcome], follow_ups = await commit_together(
                self._sessions, self.task, self._handler, self._context, self._pace, [(delivery, env, args)]
            )
        except RetryLater as exc:
            return await self._retry(delivery, env, "retry_later", exc.reason, exc.at)
        except PermanentError as exc:
            return await self._dead_letter(delivery, env, exc.code, exc.detail)
        except Exception as exc:
            # A handler's own connection errors (a provider timing out) are the outside world's:
            # retried later. Only our database being unreachable pauses the partition.
            if is_conflict(exc):
                raise  # process() runs the record again at once
            ours = is_database_error(exc) and is_infrastructure_down(exc)
            if ours or not await self._database_up():
                raise _Paused(str(exc)) from exc
            detail = f"{type(exc).__name__}: {exc}"
            log.exception("task %s failed on record %s", self.task, env.id)
            return await self._retry(delivery, env, "task_error", detail, None)
        if follow_ups:
            self._on_follow_ups()
        return outcome

    async def _database_up(self) -> bool:
        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _retry(
        self, delivery: Delivery, env: records.Envelope, reason: str, detail: str, at: datetime | None
    ) -> Outcome:
        # A newer version waits for a worker that knows it on its own count and limit, so a
        # record that outlived a rolling deploy still has all of its task's retries.
        waiting = reason == "newer_version"
        count = (env.version_waits if waiting else env.attempt) + 1
        limit = self._settings.newer_version_max_attempts if waiting else self._settings.max_attempts
        if count > limit:
            return await self._dead_letter(delivery, env, f"{reason}:retries_exhausted", detail)
        if at is None:
            base, cap = self._settings.retry_base_seconds, self._settings.retry_max_seconds
            at = datetime.now(UTC) + timedelta(seconds=min(cap, base * 2 ** (count - 1)))
        counter = {"version_waits": count} if waiting else {"attempt": count}
        value = records.reattempt(delivery.value, not_before=at, **counter)
        if len(value) > self._settings.max_record_bytes:  # the retry would be refused as oversized
            return await self._dead_letter(delivery, env, f"{reason}:too_large_to_retry", detail)
        await self._park(delivery, value, at, f"{reason}: {detail}")
        return Outcome("retry_scheduled", env.id, env.attempt if waiting else count, reason=f"{reason}: {detail}")

    async def _defer(self, delivery: Delivery, env: records.Envelope) -> Outcome:
        assert env.not_before is not None
        await self._park(delivery, delivery.value, env.not_before, "not_before")
        return Outcome("deferred", env.id, env.attempt, reason=f"not before {env.not_before.isoformat()}")

    async def _park(self, delivery: Delivery, value: bytes, at: datetime, reason: str) -> None:
        async with self._sessions.begin() as session:
            await outbox.enqueue(
                session, topic=delivery.topic, key=delivery.key, value=value, not_before=at, reason=reason
            )

    async def _dead_letter(self, delivery: Delivery, env: records.Envelope | None, reason: str, detail: str) -> Outcome:
        attempt = env.attempt if env else 0
        headers = dead_letter_headers(delivery, task=self.task, reason=reason, detail=detail, attempt=attempt)
        try:
            await self._publisher.publish(self._dlq, delivery.value, key=delivery.key, headers=headers)
        except MessageSizeTooLargeError:
            # With its headers the record no longer fits: dead-letter the reason alone; the bytes
            # stay readable at source.topic/partition/offset for the topic's retention.
            dropped = [*headers, ("error.value_dropped", b"too large for the dead-letter topic")]
            await self._publisher.publish(self._dlq, b"", key=delivery.key, headers=dropped)
        return Outcome("dead_lettered", env.id if env else None, attempt, reason=f"{reason}: {detail}")

    def _log(self, delivery: Delivery, outcome: Outcome, seconds: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        line: dict[str, Any] = {
            "task": self.task,
            "record_id": outcome.record_id,
            "partition": delivery.partition,
            "offset": delivery.offset,
            "attempt": outcome.attempt,
            "outcome": outcome.kind,
            "duration_ms": round(seconds * 1000, 2),
        }
        if outcome.result is not None:
            line["result"] = outcome.result
        if outcome.reason is not None:
            line["reason"] = outcome.reason
        log.info(json.dumps(line, default=str))
