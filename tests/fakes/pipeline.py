"""Kafka left out, the pipeline kept: one task's records run through the real RecordProcessor
(ledger, one transaction per record, retries and follow-ups parked in the outbox), and the real
OutboxRelay publishes the outbox into an in-memory topic that the loop consumes in order.

    loop = RecordLoop(task=..., handler=..., sessions=..., settings=..., http=...)
    loop.send(value, key)                # a record as a producer would send it
    outcomes = await loop.drain()        # until no record is pending

Retries wait in the outbox until their `not_before`; `fast_forward()` makes them due at once.
Records run one at a time (a single partition, offsets counting up).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import OutboxRecord
from stream_app.pipeline.context import Delivery, Handler
from stream_app.pipeline.outcome import Outcome
from stream_app.pipeline.processing import RecordProcessor
from stream_app.pipeline.relay import OutboxRelay
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.tasks import topic_for


class MemoryPublisher:
    """The `Publisher` protocol into lists: `published` (the relay's) and `dead` (dead letters)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes | None, bytes]] = []
        self.dead: list[tuple[str, bytes | None, bytes, dict[str, bytes]]] = []

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        self.dead.append((topic, key, value, dict(headers)))

    async def publish_each(self, items: Sequence[tuple[str, bytes | None, bytes]]) -> list[Exception | None]:
        self.published.extend(items)
        return [None] * len(items)


class RecordLoop:
    def __init__(
        self,
        *,
        task: str,
        handler: Handler,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        http: httpx.AsyncClient,
        storage_dir: Path = Path("archive"),  # SyncRepos-like tasks never touch it
    ) -> None:
        self.topic = topic_for(task, settings.topic_prefix)
        self.publisher = MemoryPublisher()
        self.sessions = sessions
        self.processor = RecordProcessor(
            task=task,
            handler=handler,
            sessions=sessions,
            storage=LocalStorage(storage_dir),
            publisher=self.publisher,
            settings=settings,
            http=http,
        )
        self.relay = OutboxRelay(sessions, self.publisher, interval=1.0)
        self.pending: deque[tuple[bytes | None, bytes]] = deque()
        self.outcomes: list[Outcome] = []
        self._offset = 0

    def send(self, value: bytes, key: bytes | None = None) -> None:
        self.pending.append((key, value))

    async def step(self) -> Outcome:
        """Process the next pending record, then relay what its transaction put in the outbox."""
        key, value = self.pending.popleft()
        outcome = await self.processor.process(Delivery(self.topic, 0, self._offset, key, value))
        self._offset += 1
        self.outcomes.append(outcome)
        await self._relay()
        return outcome

    async def drain(self, max_records: int = 10_000) -> list[Outcome]:
        """Process records until none is pending; the outcomes of this drain."""
        done: list[Outcome] = []
        while self.pending:
            assert len(done) < max_records, "the chain does not end"
            done.append(await self.step())
        return done

    async def fast_forward(self) -> None:
        """As if the clock jumped past every parked retry: relay them all, their `not_before` dropped."""
        async with self.sessions.begin() as session:
            await session.execute(update(OutboxRecord).values(not_before=func.now()))
        await self._relay(due_now=True)

    async def _relay(self, *, due_now: bool = False) -> None:
        await self.relay.run_once()
        for topic, key, value in self.publisher.published:
            assert topic == self.topic, f"a follow-up for another task: {topic}"
            if due_now:
                record = json.loads(value)
                record.pop("not_before", None)
                value = json.dumps(record).encode()
            self.pending.append((key, value))
        self.publisher.published.clear()
