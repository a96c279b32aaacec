"""TaskProducer reads STREAM_APP_TOPIC_PREFIX and STREAM_APP_KAFKA_BOOTSTRAP (contract sections 5
and 6) when its caller does not pass them; explicit arguments still win."""

from __future__ import annotations

import json

import pytest
from aiokafka.errors import KafkaConnectionError

from stream_app.client import TaskProducer
from stream_app.ops.topics import create_topics
from stream_app.settings import Settings
from stream_app.tasks import topic_for
from tests.support.kafka import read_all, unique
from tests.support.probe import TASK

pytestmark = [pytest.mark.kafka]

NOWHERE = "127.0.0.1:1"  # nothing listens there


async def test_the_prefix_comes_from_the_environment_unless_given(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_prefix, given = unique("cp") + ".", unique("cq") + "."
    for prefix in (env_prefix, given):
        await create_topics(Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=1), tasks=[TASK])
    monkeypatch.setenv("STREAM_APP_TOPIC_PREFIX", env_prefix)

    async with TaskProducer(kafka_bootstrap) as producer:
        from_env = await producer.send(TASK, repoid=7)
    async with TaskProducer(kafka_bootstrap, topic_prefix=given) as producer:
        explicit = await producer.send(TASK, repoid=8)

    [message] = await read_all(kafka_bootstrap, topic_for(TASK, env_prefix), expect=1, timeout=10)
    assert json.loads(message.value)["id"] == from_env
    [message] = await read_all(kafka_bootstrap, topic_for(TASK, given), expect=1, timeout=10)
    assert json.loads(message.value)["id"] == explicit


async def test_the_bootstrap_comes_from_the_environment_unless_given(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = unique("cp") + "."
    await create_topics(Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=1), tasks=[TASK])
    monkeypatch.setenv("STREAM_APP_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("STREAM_APP_KAFKA_BOOTSTRAP", NOWHERE)

    with pytest.raises(KafkaConnectionError, match=r"Unable to bootstrap from .*'127\.0\.0\.1', 1,"):
        async with TaskProducer():
            pass
    async with TaskProducer(bootstrap=kafka_bootstrap) as producer:
        await producer.send(TASK, repoid=7)
    assert len(await read_all(kafka_bootstrap, topic_for(TASK, prefix), expect=1, timeout=10)) == 1
