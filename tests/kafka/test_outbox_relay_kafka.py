"""The outbox relay with the real producer and broker: a row larger than Kafka takes is set aside
with its reason, and the follow-ups behind it are published (they used to wait for it forever)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import OutboxRecord
from stream_app.pipeline.publisher import KafkaPublisher
from stream_app.pipeline.relay import OutboxRelay
from stream_app.settings import Settings
from stream_app.tasks import topic_for
from tests.support.kafka import read_all
from tests.support.probe import TASK
from tests.support.records import raw

pytestmark = [pytest.mark.kafka, pytest.mark.db]


async def test_an_oversized_row_does_not_hold_back_the_follow_ups_behind_it(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    topic = topic_for(TASK, settings.topic_prefix)
    small = [raw({"repoid": n}) for n in (1, 2)]
    oversized = raw({"repoid": 3, "pad": "x" * (2 << 20)})  # past the producer's and broker's 1 MiB
    async with session_factory.begin() as session:
        session.add_all(OutboxRecord(topic=topic, key=b"k", value=v) for v in (small[0], oversized, small[1]))

    publisher = KafkaPublisher(settings.kafka_bootstrap)
    await publisher.start()
    try:
        assert await OutboxRelay(session_factory, publisher, interval=1.0).run_once() == 3
    finally:
        await publisher.stop()

    assert sorted(m.value for m in await read_all(settings.kafka_bootstrap, topic, expect=2)) == sorted(small)
    async with session_factory() as session:
        [(value, reason)] = (await session.execute(select(OutboxRecord.value, OutboxRecord.reason))).all()
    assert value == oversized
    assert reason is not None and "MessageSizeTooLargeError" in reason
