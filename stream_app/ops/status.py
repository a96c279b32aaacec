"""`stream-app status`: per task, partitions, committed and end offsets, lag and dead letters."""

from __future__ import annotations

from dataclasses import dataclass, replace

from stream_app.ops.kafka_admin import Assigned, admin_client, assigned_consumer, committed_offsets, topic_partitions
from stream_app.settings import Settings
from stream_app.tasks import TASK_NAMES, dlq_topic_for, group_for, short_name, topic_for


@dataclass(frozen=True)
class TaskStatus:
    """Sums over the task topic's partitions; None when the topic (or its .dlq) does not exist.

    Lag counts a partition never committed from its first offset, where the worker would start.
    """

    task: str
    partitions: int | None = None
    committed: int | None = None
    end: int | None = None
    lag: int | None = None
    dlq: int | None = None


COLUMNS = ("task", "partitions", "committed", "end", "lag", "dlq")


async def status(settings: Settings) -> list[TaskStatus]:
    prefix = settings.topic_prefix
    topics = {task: (topic_for(task, prefix), dlq_topic_for(task, prefix)) for task in TASK_NAMES}
    wanted = [t for pair in topics.values() for t in pair]
    async with admin_client(settings.kafka_bootstrap) as admin:
        existing = await topic_partitions(admin, wanted)
        committed = {
            task: await committed_offsets(admin, group_for(task, settings.group_id), topic)
            for task, (topic, _) in topics.items()
            if topic in existing
        }
    # One consumer for every partition's bounds: one round trip instead of one per topic.
    async with assigned_consumer(settings.kafka_bootstrap, wanted, require=False) as a:
        return [_row(task, *topics[task], a, committed.get(task)) for task in TASK_NAMES]


def _row(task: str, topic: str, dlq: str, a: Assigned, done: dict[int, int] | None) -> TaskStatus:
    row = TaskStatus(task)
    tps = a.of(topic)
    if tps and done is not None:
        pos = {tp: done.get(tp.partition, a.begin[tp]) for tp in tps}
        row = replace(
            row,
            partitions=len(tps),
            committed=sum(done.values()),
            end=sum(a.end[tp] for tp in tps),
            lag=sum(max(a.end[tp] - pos[tp], 0) for tp in tps),
        )
    if dlq_tps := a.of(dlq):
        row = replace(row, dlq=sum(a.end[tp] - a.begin[tp] for tp in dlq_tps))
    return row


def table(rows: list[TaskStatus]) -> list[str]:
    """One aligned table, tasks by short name in contract order, "-" for what does not exist."""
    cells = [list(COLUMNS)] + [
        [short_name(r.task)] + ["-" if v is None else str(v) for v in (r.partitions, r.committed, r.end, r.lag, r.dlq)]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
