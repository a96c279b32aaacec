"""TaskProducer's defaults are the settings (STREAM_APP_* variables); explicit arguments win."""

from __future__ import annotations

import pytest

from stream_app.client import TaskProducer


async def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_APP_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("STREAM_APP_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9092")

    producer = TaskProducer()

    assert (producer.bootstrap, producer.topic_prefix) == ("kafka-1:9092,kafka-2:9092", "staging.")


async def test_explicit_arguments_win_even_an_empty_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_APP_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("STREAM_APP_KAFKA_BOOTSTRAP", "kafka-1:9092")

    producer = TaskProducer("127.0.0.1:9092", topic_prefix="")

    assert (producer.bootstrap, producer.topic_prefix) == ("127.0.0.1:9092", "")


async def test_without_environment_the_contract_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAM_APP_TOPIC_PREFIX", raising=False)
    monkeypatch.delenv("STREAM_APP_KAFKA_BOOTSTRAP", raising=False)

    producer = TaskProducer()

    assert (producer.bootstrap, producer.topic_prefix) == ("127.0.0.1:9092", "")
