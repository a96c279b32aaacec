"""OutboxRelay on the real PostgreSQL: each row stands alone, so one row the broker refuses for
good never holds back the rows behind it, and rows that went through are never sent twice."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import OutboxRecord
from stream_app.pipeline.publisher import Item
from stream_app.pipeline.relay import OutboxRelay

pytestmark = pytest.mark.db


class ScriptedPublisher:
    """Refuses the values in `refuse` with their error; takes every other item."""

    def __init__(self, refuse: dict[bytes, Exception] | None = None) -> None:
        self.refuse = refuse or {}
        self.published: list[bytes] = []

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        raise AssertionError("the relay publishes through publish_each")

    async def publish_each(self, items: Sequence[Item]) -> list[Exception | None]:
        errors: list[Exception | None] = []
        for _, _, value in items:
            error = self.refuse.get(value)
            if error is None:
                self.published.append(value)
            errors.append(error)
        return errors


async def add_rows(sessions: async_sessionmaker[AsyncSession], *values: bytes) -> None:
    async with sessions.begin() as session:
        session.add_all(OutboxRecord(topic="t.task", key=b"k", value=value) for value in values)


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[bytes, str | None, bool]]:
    """(value, reason, due now) of every row left, in id order."""
    async with sessions() as session:
        due = OutboxRecord.not_before <= func.now()
        rows = await session.execute(select(OutboxRecord.value, OutboxRecord.reason, due).order_by(OutboxRecord.id))
        return [(value, reason, bool(is_due)) for value, reason, is_due in rows]


async def test_a_row_refused_for_good_is_set_aside_and_the_rows_behind_it_flow(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_rows(session_factory, b"first", b"too big", b"last")
    publisher = ScriptedPublisher({b"too big": MessageSizeTooLargeError()})
    relay = OutboxRelay(session_factory, publisher, interval=1.0)

    assert await relay.run_once() == 3
    assert publisher.published == [b"first", b"last"]
    [(value, reason, due)] = await outbox(session_factory)
    assert value == b"too big" and not due  # kept, not lost, and not due again for an hour
    assert reason is not None and reason.startswith("unpublishable: MessageSizeTooLargeError")

    await add_rows(session_factory, b"later")
    assert await relay.run_once() == 1  # the refused row no longer comes first in every batch
    assert publisher.published == [b"first", b"last", b"later"]


async def test_a_passing_failure_keeps_only_its_row_due_and_backs_the_relay_off(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_rows(session_factory, b"a", b"b", b"c")
    publisher = ScriptedPublisher({b"b": KafkaConnectionError()})
    relay = OutboxRelay(session_factory, publisher, interval=1.0)

    with pytest.raises(KafkaConnectionError):  # run() backs off on it
        await relay.run_once()
    assert publisher.published == [b"a", b"c"]
    assert await outbox(session_factory) == [(b"b", None, True)]  # still due, nothing set aside

    publisher.refuse.clear()  # Kafka is back
    assert await relay.run_once() == 1
    assert publisher.published == [b"a", b"c", b"b"]  # a and c were not sent twice
    assert await outbox(session_factory) == []
