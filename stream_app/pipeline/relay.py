"""The outbox relay: publishes due outbox rows, then deletes them.

Rows are taken with FOR UPDATE SKIP LOCKED, so several workers share the outbox without
publishing a row twice in the normal case; after a crash between publish and delete a row is
published again, which the consumer's ledger turns into a no-op (same record id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import delete, func, select

from stream_app.db import SessionFactory
from stream_app.models import OutboxRecord
from stream_app.pipeline.publisher import Publisher

log = logging.getLogger(__name__)


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
            await self._publisher.publish_many([(r.topic, r.key, r.value) for r in rows])
            await session.execute(delete(OutboxRecord).where(OutboxRecord.id.in_([r.id for r in rows])))
        return len(rows)

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
