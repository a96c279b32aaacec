"""One faust App (= one consumer group) per task type, each with one agent on the task's topic.

The contract gives every task type its own group, `{group_id}.{short name}`, so task types
scale, rebalance and replay independently; faust ties one group to one App, hence an App each.
Records are consumed as raw bytes (faust's typed decoding acks and drops bad records) and
never acked by faust itself: the dispatcher acks each one after its outcome is durable.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any, cast

import faust

from stream_app.pipeline.context import Delivery
from stream_app.pipeline.dispatch import OrderedDispatcher
from stream_app.settings import Settings
from stream_app.tasks import group_for, short_name, topic_for


def broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip()]


def build_app(task: str, settings: Settings, dispatcher: OrderedDispatcher, closing: asyncio.Event) -> faust.App:
    app = faust.App(
        group_for(task, settings.group_id),
        broker=broker_urls(settings.kafka_bootstrap),
        store="memory://",
        # faust creates `{app id}-data/` under `datadir`; we keep no tables, so keep it out of
        # the working directory (one per group would otherwise pile up there).
        datadir=str(Path(tempfile.gettempdir()) / "stream_app-faust"),
        autodiscover=False,
        web_enabled=False,
        topic_disable_leader=True,  # no leader topic: we use no on_leader timers
        topic_allow_declare=False,  # topics are created by `stream-app topics create`
        consumer_auto_offset_reset="earliest",
        # faust's default is 5 minutes: partitions added to a topic went unseen that long.
        consumer_metadata_max_age_ms=30_000,
        broker_commit_interval=settings.commit_interval_seconds,
        # Revocation and shutdown must not wait for records stuck behind an outage; unfinished
        # records stay unacked, are redelivered, and the ledger makes the repeat a no-op.
        stream_wait_empty=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    topic = app.topic(topic_for(task, settings.topic_prefix), key_serializer="raw", value_serializer="raw")

    async def consume(stream: Any) -> None:  # a faust.Stream of raw bytes
        async for event in stream.noack().events():
            if closing.is_set():
                await asyncio.Event().wait()  # shutting down: take nothing more (it stays unacked)
            m = event.message
            await dispatcher.submit(Delivery(m.topic, m.partition, m.offset, m.key, m.value), event.ack)

    app.agent(topic, name=short_name(task))(consume)

    async def on_revoked(sender: faust.App, revoked: set[Any], **_: Any) -> None:
        dispatcher.revoke((tp.topic, tp.partition) for tp in revoked)

    app.on_partitions_revoked.connect(cast(Any, on_revoked))

    return app
