"""`stream-app dlq list` and `dlq redrive`: read a task's dead letters; re-publish them.

Both read up to the end offsets seen at start, so they finish even while new dead letters arrive.
Redrive remembers its progress as the committed offsets of its own group: it commits only after
the broker confirmed the publishes, so a crash re-publishes at worst (the worker's ledger
dedupes by record id) and never loses a dead letter.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from aiokafka import ConsumerRecord, TopicPartition

from stream_app import records
from stream_app.ops.kafka_admin import (
    Assigned,
    OpsError,
    TopicMissing,
    admin_client,
    assigned_consumer,
    topic_partitions,
)
from stream_app.pipeline.publisher import KafkaPublisher, raise_first
from stream_app.settings import Settings
from stream_app.tasks import dlq_topic_for, group_for, resolve, topic_for

DETAIL_WIDTH = 60
READ_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    record_id: str | None
    reason: str
    detail: str
    source: str  # "partition:offset" of the original record

    def line(self) -> str:
        detail = self.detail if len(self.detail) <= DETAIL_WIDTH else self.detail[: DETAIL_WIDTH - 3] + "..."
        return (
            f"{self.partition:>9}  {self.offset:>8}  {self.record_id or '-':<36}  {self.reason:<24}  "
            f"{self.source:<14}  {detail}"
        )


HEADER = f"{'partition':>9}  {'offset':>8}  {'record_id':<36}  {'reason':<24}  {'source':<14}  detail"


def redrive_group(settings: Settings, task: str) -> str:
    return f"{group_for(task, settings.group_id)}.dlq-redrive"


def describe(msg: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in msg.headers or ()}
    source = f"{headers.get('source.partition', '?')}:{headers.get('source.offset', '?')}"
    reason, detail = headers.get("error.reason", "-"), headers.get("error.detail", "")
    return DeadLetter(msg.partition, msg.offset, _record_id(msg.value), reason, detail, source)


def _record_id(value: bytes | None) -> str | None:
    try:
        body = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    rid = body.get("id") if isinstance(body, dict) else None
    return str(rid) if rid is not None else None


async def read_to_end(a: Assigned) -> AsyncGenerator[list[ConsumerRecord[bytes, bytes]], None]:
    """Batches from each partition's current position up to the end offsets taken at start."""
    left = {tp for tp in a.partitions if await a.consumer.position(tp) < a.end[tp]}
    a.consumer.pause(*(set(a.partitions) - left))
    deadline = asyncio.get_running_loop().time() + READ_TIMEOUT_SECONDS
    while left:
        if asyncio.get_running_loop().time() > deadline:
            raise OpsError(f"timed out reading dead letters ({len(left)} partitions not read to their end)")
        fetched = await a.consumer.getmany(*left, timeout_ms=500)
        batch = [m for tp, msgs in fetched.items() for m in msgs if m.offset < a.end[tp]]
        for tp in list(left):  # by position, not last offset: offsets may have gaps
            if await a.consumer.position(tp) >= a.end[tp]:
                left.discard(tp)
                a.consumer.pause(tp)  # past the snapshot: do not fetch newer dead letters
        if batch:
            yield batch


async def dlq_list(settings: Settings, task_name: str, *, limit: int | None = None) -> tuple[list[DeadLetter], int]:
    """Up to `limit` dead letters from the start, and how many the topic holds in all."""
    topic = dlq_topic_for(resolve(task_name), settings.topic_prefix)
    found: list[DeadLetter] = []
    async with assigned_consumer(settings.kafka_bootstrap, [topic]) as a:
        total = sum(a.end[tp] - a.begin[tp] for tp in a.partitions)
        for tp in a.partitions:
            a.consumer.seek(tp, a.begin[tp])
        async with aclosing(read_to_end(a)) as batches:
            async for batch in batches:
                found += [describe(m) for m in batch]
                if limit is not None and len(found) >= limit:
                    break
    found.sort(key=lambda d: (d.partition, d.offset))
    return (found[:limit] if limit is not None else found), total


async def dlq_redrive(settings: Settings, task_name: str) -> int:
    """Re-publish every dead letter not redriven yet to the task topic, its retry state cleared
    (`records.without_retry_state`); returns how many."""
    task = resolve(task_name)
    dlq, target = dlq_topic_for(task, settings.topic_prefix), topic_for(task, settings.topic_prefix)
    async with admin_client(settings.kafka_bootstrap) as admin:
        if target not in await topic_partitions(admin, [target]):
            raise TopicMissing(target)  # publishing could auto-create it with the wrong partitions
    publisher = KafkaPublisher(settings.kafka_bootstrap, client_id="stream-app-redrive")
    await publisher.start()
    sent = 0
    try:
        async with assigned_consumer(settings.kafka_bootstrap, [dlq], group_id=redrive_group(settings, task)) as a:
            for tp in a.partitions:
                done = await a.consumer.committed(tp)
                # Never committed, or trimmed by retention since: start at the first one kept.
                a.consumer.seek(tp, a.begin[tp] if done is None or done < a.begin[tp] else done)
            async for batch in read_to_end(a):
                # With its retry state cleared: a redriven record runs now, with all of its retries.
                fresh = [(target, m.key, records.without_retry_state(m.value)) for m in batch]
                raise_first(await publisher.publish_each(fresh))
                await a.consumer.commit(_next_offsets(batch))
                sent += len(batch)
    finally:
        await publisher.stop()
    return sent


def _next_offsets(batch: list[ConsumerRecord[bytes, bytes]]) -> dict[TopicPartition, int]:
    nxt: dict[TopicPartition, int] = {}
    for m in batch:
        tp = TopicPartition(m.topic, m.partition)
        nxt[tp] = max(nxt.get(tp, 0), m.offset + 1)
    return nxt
