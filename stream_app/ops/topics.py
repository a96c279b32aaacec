"""`stream-app topics create`: every task topic and its dead-letter companion, idempotently."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream_app.settings import Settings
from stream_app.tasks import TASK_NAMES, dlq_topic_for, topic_for


def all_topics(prefix: str, tasks: Iterable[str] = TASK_NAMES) -> list[str]:
    return [t for task in tasks for t in (topic_for(task, prefix), dlq_topic_for(task, prefix))]


async def create_topics(settings: Settings, *, tasks: Iterable[str] = TASK_NAMES, replication: int = 1) -> list[str]:
    """Create missing topics; returns the names created (existing ones are left as they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in all_topics(settings.topic_prefix, tasks) if t not in existing]
        created = []
        for name in wanted:
            try:
                await admin.create_topics([NewTopic(name, settings.partitions, replication)])
                created.append(name)
            except TopicAlreadyExistsError:  # another process won the race
                pass
        return created
    finally:
        await admin.close()
