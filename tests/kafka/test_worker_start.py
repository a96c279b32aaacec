"""Worker start-up: missing topics refuse the start with one clear line; Kafka not answering yet
is waited for (with backoff, logged) until it answers or the worker is asked to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.ops.kafka_admin import OpsError
from stream_app.settings import Settings
from stream_app.tasks import dlq_topic_for, topic_for
from stream_app.worker import Worker
from tests.kafka.test_replay import _is, count
from tests.support.kafka import partitions_of, produce_raw, unique, wait_until
from tests.support.probe import TASK, probe
from tests.support.processes import settings_env
from tests.support.records import raw
from tests.support.tcp_proxy import TcpProxy, free_port

pytestmark = [pytest.mark.kafka, pytest.mark.db]

STREAM_APP = str(Path(sys.executable).parent / "stream-app")


def missing_line(*topics: str) -> str:
    return f"topic(s) {', '.join(topics)} do not exist: create them with `stream-app topics create`"


async def test_a_worker_refuses_to_start_without_its_topics(settings: Settings) -> None:
    bare = settings.model_copy(update={"topic_prefix": unique("none") + "."})
    worker = Worker(bare, {TASK: probe}, drain_seconds=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(OpsError) as refused:
            await asyncio.wait_for(worker.start(), 20)
    finally:
        await worker.stop()
    assert str(refused.value) == missing_line(
        topic_for(TASK, bare.topic_prefix), dlq_topic_for(TASK, bare.topic_prefix)
    )
    assert time.monotonic() - started < 10


async def test_a_missing_dead_letter_topic_alone_refuses_the_start(settings: Settings) -> None:
    bare = settings.model_copy(update={"topic_prefix": unique("half") + "."})
    topic = topic_for(TASK, bare.topic_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=bare.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    await wait_until(lambda: _visible(bare.kafka_bootstrap, topic), what=f"{topic} in the metadata")
    worker = Worker(bare, {TASK: probe}, drain_seconds=1.0)
    try:
        with pytest.raises(OpsError) as refused:
            await asyncio.wait_for(worker.start(), 20)
    finally:
        await worker.stop()
    assert str(refused.value) == missing_line(dlq_topic_for(TASK, bare.topic_prefix))


async def test_cli_worker_without_topics_exits_1_with_one_line(settings: Settings) -> None:
    bare = settings.model_copy(update={"topic_prefix": unique("none") + "."})

    proc = await asyncio.create_subprocess_exec(
        STREAM_APP, "worker", "--tasks", "flush_repo", env=settings_env(bare),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    assert (proc.returncode, out) == (1, b"")
    line = "error: " + missing_line(topic_for(TASK, bare.topic_prefix), dlq_topic_for(TASK, bare.topic_prefix))
    assert err.decode() == line + "\n"


async def test_kafka_not_up_yet_is_waited_for_then_records_flow(
    settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens here until the "broker" appears
    host, real_port = settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)
    late = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{port}"})
    worker = Worker(late, {TASK: probe}, drain_seconds=2.0)
    proxy = TcpProxy(port, host, int(real_port))
    caplog.set_level(logging.WARNING, logger="stream_app.worker")
    starting = asyncio.create_task(worker.start())
    try:
        await asyncio.sleep(2.5)
        assert not starting.done()  # still waiting, no exception
        retries = [r for r in caplog.records if r.name == "stream_app.worker" and r.levelno == logging.WARNING]
        assert len(retries) >= 2
        assert "retrying in 0.5 s" in retries[0].getMessage()
        assert "retrying in 1.0 s" in retries[1].getMessage()

        await proxy.start()
        assert await asyncio.wait_for(starting, 20) is True
        await produce_raw(settings.kafka_bootstrap, topic_for(TASK, settings.topic_prefix), [raw({"repoid": 1})])
        await wait_until(lambda: _is(count(engine, "probe_runs"), 1), what="the record processed")
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await worker.stop()
        await proxy.stop()


async def test_a_stop_request_ends_the_wait_for_kafka_promptly(settings: Settings) -> None:
    late = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    worker = Worker(late, {TASK: probe}, drain_seconds=1.0)
    starting = asyncio.create_task(worker.start())
    await asyncio.sleep(2.0)
    assert not starting.done()

    asked = time.monotonic()
    worker.request_stop()
    assert await asyncio.wait_for(starting, 5) is False
    await worker.stop()
    assert time.monotonic() - asked < 2


async def test_cli_worker_waits_for_kafka_and_sigterm_ends_it_cleanly(settings: Settings) -> None:
    late = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    env = {**settings_env(late), "PYTHONWARNINGS": "always::ResourceWarning", "PYTHONDEVMODE": "1"}
    proc = await asyncio.create_subprocess_exec(
        STREAM_APP, "worker", "--tasks", "flush_repo", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.sleep(3.0)
        assert proc.returncode is None  # still waiting for Kafka
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    text = err.decode()
    assert proc.returncode == 0, text
    assert "WARNING stream_app.worker Kafka at " in text
    assert "retrying in 0.5 s" in text and "retrying in 1.0 s" in text
    assert "Unclosed" not in text and "Traceback" not in text


async def _visible(bootstrap: str, topic: str) -> bool:
    return bool(await partitions_of(bootstrap, topic))
