"""RecordProcessor's dead-letter path, which needs no database: invalid records never open one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from aiokafka.errors import MessageSizeTooLargeError

from stream_app.pipeline.context import Delivery
from stream_app.pipeline.processing import RecordProcessor
from stream_app.settings import Settings
from stream_app.storage import LocalStorage

TASK = "app.tasks.flush_repo.FlushRepo"


class FakePublisher:
    def __init__(self, fail_first: BaseException | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, dict[str, bytes]]] = []
        self._fail = fail_first

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        if self._fail is not None:
            exc, self._fail = self._fail, None
            raise exc
        self.sent.append((topic, value, key, dict(headers)))

    async def publish_each(self, items: Sequence[tuple[str, bytes | None, bytes]]) -> list[Exception | None]:
        raise AssertionError("not used")


class NoDatabase:
    def __call__(self) -> Any:
        raise AssertionError("an invalid record must not open a database session")

    def begin(self) -> Any:
        raise AssertionError("an invalid record must not open a transaction")


def processor(publisher: FakePublisher, tmp_path: Path, settings: Settings | None = None) -> RecordProcessor:
    return RecordProcessor(
        task=TASK,
        handler=lambda ctx, args: None,  # type: ignore[arg-type,return-value]
        sessions=NoDatabase(),  # type: ignore[arg-type]
        storage=LocalStorage(tmp_path),
        publisher=publisher,
        settings=settings or Settings(topic_prefix="p."),
        http=httpx.AsyncClient(),
    )


async def test_invalid_record_goes_to_the_dlq_with_original_bytes_and_reason(tmp_path: Path) -> None:
    publisher = FakePublisher()
    outcome = await processor(publisher, tmp_path).process(Delivery("p." + TASK, 3, 41, b"k", b"{oops"))
    assert outcome.kind == "dead_lettered"
    [(topic, value, key, headers)] = publisher.sent
    assert (topic, value, key) == ("p." + TASK + ".dlq", b"{oops", b"k")
    assert headers["error.reason"] == b"not_json"
    assert headers["source.partition"] == b"3" and headers["source.offset"] == b"41"


async def test_a_dead_letter_too_large_for_the_dlq_keeps_its_reason_and_source(tmp_path: Path) -> None:
    publisher = FakePublisher(fail_first=MessageSizeTooLargeError())
    outcome = await processor(publisher, tmp_path).process(Delivery("p." + TASK, 0, 7, None, b"[1]"))
    assert outcome.kind == "dead_lettered"
    [(_, value, _, headers)] = publisher.sent
    assert value == b""
    assert headers["error.reason"] == b"not_an_object"
    assert headers["error.value_dropped"]
    assert headers["source.offset"] == b"7"


async def test_a_dlq_outage_pauses_instead_of_losing_the_record(tmp_path: Path) -> None:
    from aiokafka.errors import KafkaConnectionError

    publisher = FakePublisher(fail_first=KafkaConnectionError())
    outcome = await processor(publisher, tmp_path).process(Delivery("p." + TASK, 0, 8, None, b"nope"))
    assert outcome.kind == "dead_lettered"
    assert len(publisher.sent) == 1  # published once Kafka answered again


async def test_a_retry_that_would_pass_the_size_limit_is_dead_lettered_at_once(tmp_path: Path) -> None:
    # A newer version is retried through the outbox; with its retry fields this record would be
    # over the limit, and the worker would refuse the retry as too large: it is dead-lettered now.
    def value_of(pad: str) -> bytes:
        args = {"repoid": 1, "pad": pad}
        body = {"task": TASK, "version": 99, "id": "r-1", "created_at": "2026-11-29T05:00:00Z", "args": args}
        return json.dumps(body, separators=(",", ":")).encode()

    value = value_of("x" * (1014 - len(value_of(""))))
    assert len(value) == 1014  # within the limit of 1024 bytes

    publisher = FakePublisher()
    settings = Settings(topic_prefix="p.", max_record_bytes=1024)
    outcome = await processor(publisher, tmp_path, settings).process(Delivery("p." + TASK, 0, 9, b"k", value))

    assert outcome.kind == "dead_lettered"
    [(topic, dead_value, key, headers)] = publisher.sent
    assert (topic, dead_value, key) == ("p." + TASK + ".dlq", value, b"k")
    assert headers["error.reason"] == b"newer_version:too_large_to_retry"
