"""Publishing with delivery confirmed: the pipeline only acks once a publish is durable."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)

Headers = Sequence[tuple[str, bytes]]
Item = tuple[str, bytes | None, bytes]  # topic, key, value


class Publisher(Protocol):
    async def publish(self, topic: str, value: bytes, *, key: bytes | None = None, headers: Headers = ()) -> None:
        """Return only once the broker has the record (acks=all)."""
        ...

    async def publish_each(self, items: Sequence[Item]) -> list[Exception | None]:
        """Publish (topic, key, value) items; per item, None once the broker has it, else its error."""
        ...


def raise_first(errors: Sequence[Exception | None]) -> None:
    """For callers that need every item published: the first failure, raised."""
    for error in errors:
        if error is not None:
            raise error


# The broker or the client refuses these records themselves: sending them again cannot work.
UNPUBLISHABLE = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
    CorruptRecordException,
)


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

    async def publish_each(self, items: Sequence[Item]) -> list[Exception | None]:
        sent: list[asyncio.Future[Any] | Exception] = []
        for topic, key, value in items:
            try:
                sent.append(await self._producer.send(topic, value, key=key))
            except Exception as exc:  # refused before it was sent (too large, no metadata, ...)
                sent.append(exc)
        pending = [f for f in sent if not isinstance(f, Exception)]
        outcomes = iter(await asyncio.gather(*pending, return_exceptions=True))
        return [f if isinstance(f, Exception) else _failure(next(outcomes)) for f in sent]


def _failure(outcome: object) -> Exception | None:
    """A send's outcome as gather(return_exceptions=True) gives it: None when it was delivered."""
    if not isinstance(outcome, BaseException):
        return None
    return outcome if isinstance(outcome, Exception) else KafkaError(f"send interrupted: {outcome!r}")
