"""`stream-app topics create`: every task topic and its dead-letter companion, idempotently.

A topic that already exists is left as it is. One whose partition count differs from
STREAM_APP_PARTITIONS is reported as a mismatch (the CLI then exits 1): Kafka cannot shrink a
topic, and growing one sends keys to other partitions, so that is the operator's decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from stream_app.ops.kafka_admin import OpsError, admin_client, topic_partitions
from stream_app.settings import Settings
from stream_app.tasks import TASK_NAMES, dlq_topic_for, topic_for


def all_topics(prefix: str, tasks: Iterable[str] = TASK_NAMES) -> list[str]:
    return [t for task in tasks for t in (topic_for(task, prefix), dlq_topic_for(task, prefix))]


@dataclass
class TopicsReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    # existing topics whose partition count is not settings.partitions: name -> their count
    mismatched: dict[str, int] = field(default_factory=dict)


async def ensure_topics(settings: Settings, *, tasks: Iterable[str] = TASK_NAMES, replication: int = 1) -> TopicsReport:
    """Create the missing topics with settings.partitions partitions and `replication` replicas.

    Raises OpsError when the broker refuses to create some (e.g. more replicas than brokers).
    """
    wanted = all_topics(settings.topic_prefix, tasks)
    report = TopicsReport()
    async with admin_client(settings.kafka_bootstrap) as admin:
        found = await topic_partitions(admin, wanted)
        missing = [t for t in wanted if t not in found]
        refused: list[str] = []
        raced: list[str] = []
        if missing:
            response = await admin.create_topics([NewTopic(t, settings.partitions, replication) for t in missing])
            outcome = {entry[0]: (entry[1], entry[2] if len(entry) > 2 else None) for entry in response.topic_errors}
            for name in missing:
                code, message = outcome.get(name, (0, None))
                if code == 0:
                    report.created.append(name)
                elif code == TopicAlreadyExistsError.errno:  # another process won the race
                    raced.append(name)
                else:
                    refused.append(f"{name}: {message or for_code(code).__name__}")
        if refused:
            raise OpsError(f"could not create {len(refused)} topic(s): {'; '.join(refused)}")
        # The broker answers before its metadata shows a new topic (up to seconds): wait, so a
        # worker started right after this finds its topics, and raced ones get their check too.
        found.update(await _visible(admin, [*report.created, *raced]))
    report.existing = [name for name in wanted if (name in found or name in raced) and name not in report.created]
    for name in report.existing:
        if name in found and len(found[name]) != settings.partitions:
            report.mismatched[name] = len(found[name])
    return report


async def _visible(admin: AIOKafkaAdminClient, names: list[str], timeout: float = 10.0) -> dict[str, list[int]]:
    """Partitions of `names` once the broker's metadata shows them all (or what it shows at the timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await topic_partitions(admin, names) if names else {}
        if len(found) == len(names) or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def create_topics(settings: Settings, *, tasks: Iterable[str] = TASK_NAMES, replication: int = 1) -> list[str]:
    """Create missing topics; returns the names created (existing ones are left as they are)."""
    return (await ensure_topics(settings, tasks=tasks, replication=replication)).created


def mismatch_error(settings: Settings, mismatched: dict[str, int]) -> str:
    """The CLI's one-line error for topics whose partition count is not the configured one."""
    listed = ", ".join(f"{name} ({count})" for name, count in mismatched.items())
    return (
        f"error: {len(mismatched)} topic(s) have a partition count other than "
        f"STREAM_APP_PARTITIONS={settings.partitions}: {listed}; set STREAM_APP_PARTITIONS to match, or change "
        "the topics yourself (kafka-topics --alter can only add partitions, and moves keys to other partitions)"
    )
