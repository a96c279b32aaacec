"""Small broker helpers shared by replay, dlq and status: topics, groups, partition bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class OpsError(Exception):
    """An operator error: the CLI prints it as one line and exits 1."""


class TopicMissing(OpsError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"topic {topic} does not exist (create it with `stream-app topics create`)")
        self.topic = topic


class TopicsMissing(OpsError):
    def __init__(self, topics: list[str]) -> None:
        super().__init__(f"topic(s) {', '.join(topics)} do not exist: create them with `stream-app topics create`")
        self.topics = topics


@dataclass
class Assigned:
    """A started consumer manually assigned every partition of its topics, with their bounds."""

    consumer: AIOKafkaConsumer
    partitions: list[TopicPartition]
    begin: dict[TopicPartition, int]
    end: dict[TopicPartition, int]

    def of(self, topic: str) -> list[TopicPartition]:
        return [tp for tp in self.partitions if tp.topic == topic]


@asynccontextmanager
async def admin_client(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="stream-app-ops")
    try:
        await admin.start()  # Kafka down: raises, and what it opened is closed below
        yield admin
    finally:
        await admin.close()


async def topic_partitions(admin: AIOKafkaAdminClient, topics: Iterable[str]) -> dict[str, list[int]]:
    """Partition ids of the topics that exist; missing topics are left out (not auto-created).

    Only topics the cluster lists are described: aiokafka's describe_topics asks the broker to
    auto-create the topics it names, which a broker with auto.create.topics.enable would do.
    """
    existing = set(await admin.list_topics())
    wanted = [t for t in topics if t in existing]
    found = await admin.describe_topics(wanted) if wanted else []
    return {t["topic"]: sorted(p["partition"] for p in t["partitions"]) for t in found if t["error_code"] == 0}


async def missing_topics(bootstrap: str, topics: Iterable[str]) -> list[str]:
    """The topics among `topics` the broker does not know, in the order given.

    Only "unknown topic" counts: a topic whose partitions have no leader yet (a broker
    restarting) exists.
    """
    async with admin_client(bootstrap) as admin:
        existing = set(await admin.list_topics())  # never auto-creates (see topic_partitions)
    return [t for t in topics if t not in existing]


async def active_members(admin: AIOKafkaAdminClient, group: str) -> int:
    responses = await admin.describe_consumer_groups([group])
    return sum(len(g["members"]) for r in responses for g in r.to_object()["groups"])


async def committed_offsets(admin: AIOKafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition of `topic`; partitions never committed are absent."""
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic and om.offset >= 0}


@asynccontextmanager
async def assigned_consumer(
    bootstrap: str, topics: Iterable[str], *, group_id: str | None = None, require: bool = True
) -> AsyncIterator[Assigned]:
    """A consumer on every partition of `topics`; it never joins a group, even with a group_id.

    With `require`, a missing topic raises TopicMissing (offset look-ups on it would block forever);
    without, missing topics are skipped.
    """
    wanted = list(topics)
    async with admin_client(bootstrap) as admin:
        parts = await topic_partitions(admin, wanted)
    missing = [t for t in wanted if t not in parts]
    if require and missing:
        raise TopicMissing(missing[0])
    # "latest": a status look-up fetches nothing; dlq readers seek to where they start.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False, auto_offset_reset="latest"
    )
    try:
        await consumer.start()
        tps = [TopicPartition(t, p) for t in wanted if t in parts for p in parts[t]]
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps) if tps else {}
        end = await consumer.end_offsets(tps) if tps else {}
        yield Assigned(consumer, tps, begin, end)
    finally:
        await consumer.stop()
