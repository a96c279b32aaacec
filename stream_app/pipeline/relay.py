"""The outbox relay: publishes due outbox rows, then deletes them.

Rows are taken with FOR UPDATE SKIP LOCKED, so several workers share the outbox without
publishing a row twice in the normal case; after a crash between publish and delete a row is
published again, which the consumer's ledger turns into a no-op (same record id).

Each row stands alone: the rows the broker took are deleted even when others failed. A row
the broker or client refuses for good (too large for the topic, an invalid topic) is set
aside for an hour with the error as its `reason` and retried then (an operator may have
raised the topic's limit), so it never blocks the rows behind it. Any other failure (Kafka
unreachable) leaves the row due and backs the relay off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.db import SessionFactory
from stream_app.models import OutboxRecord
from stream_app.pipeline.publisher import UNPUBLISHABLE, Publisher

log = logging.getLogger(__name__)
SET_ASIDE = timedelta(hours=1)  # a refused row waits this long before it is tried again


class OutboxRelay:
    def __init__(self, sessions: SessionFactory, publisher: Publisher, *, interval: float, batch: int = 500) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._interval = interval
        self._batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Publish soon: a transaction just committed follow-ups."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish one batch of due rows; returns how many rows it took. Raises the first
        passing failure (after committing what went through), so `run` backs off."""
        async with self._sessions.begin() as session:
            rows = (
                await session.execute(
                    select(OutboxRecord.id, OutboxRecord.topic, OutboxRecord.key, OutboxRecord.value)
                    .where(OutboxRecord.not_before <= func.now())
                    .order_by(OutboxRecord.id)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            errors = await self._publisher.publish_each([(r.topic, r.key, r.value) for r in rows])
            sent: list[int] = []
            passing: Exception | None = None
            for row, error in zip(rows, errors, strict=True):
                if error is None:
                    sent.append(row.id)
                elif isinstance(error, UNPUBLISHABLE):
                    await self._set_aside(session, row.id, row.topic, error)
                elif passing is None:
                    passing = error
            if sent:
                await session.execute(delete(OutboxRecord).where(OutboxRecord.id.in_(sent)))
        if passing is not None:
            raise passing
        return len(rows)

    @staticmethod
    async def _set_aside(session: AsyncSession, row_id: int, topic: str, error: Exception) -> None:
        reason = f"unpublishable: {type(error).__name__}: {error}"[:2000]
        log.error("outbox row %d for %s set aside for %s: %s", row_id, topic, SET_ASIDE, reason)
        await session.execute(
            update(OutboxRecord)
            .where(OutboxRecord.id == row_id)
            .values(not_before=func.now() + SET_ASIDE, reason=reason)
        )

    async def run(self) -> None:
        backoff = self._interval
        while True:
            try:
                while await self.run_once() == self._batch:
                    pass
                backoff = self._interval
            except Exception as exc:  # an outage of PostgreSQL or Kafka: rows stay, try again later
                log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                backoff = min(backoff * 2, 10.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
