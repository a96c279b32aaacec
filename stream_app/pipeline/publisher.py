"""Publishing with delivery confirmed: the pipeline only acks once a publish is durable."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer

Headers = Sequence[tuple[str, bytes]]


class Publisher(Protocol):
    async def publish(self, topic: str, value: bytes, *, key: bytes | None = None, headers: Headers = ()) -> None:
        """Return only once the broker has the record (acks=all)."""
        ...

    async def publish_many(self, items: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        """Publish (topic, key, value) items; return once the broker has all of them."""
        ...


class KafkaPublisher:
    def __init__(self, bootstrap: str, *, client_id: str = "stream-app") -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=15_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, topic: str, value: bytes, *, key: bytes | None = None, headers: Headers = ()) -> None:
        await self._producer.send_and_wait(topic, value, key=key, headers=list(headers))

    async def publish_many(self, items: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        futures = [await self._producer.send(topic, value, key=key) for topic, key, value in items]
        await asyncio.gather(*futures)
