"""`stream-app replay`: reset a task's consumer-group offsets the way kafka-consumer-groups does.

The ledger rows of the replayed range are forgotten first, so the worker really runs those
records again instead of skipping them as duplicates. The range is [new offset, end of the
partition) as the replay finds it, not [new, committed): records that ran but whose offsets were
never committed (a SIGKILL between commit and ack) and groups with no committed offsets at all
(expired, or a renamed STREAM_APP_GROUP_ID) have ledger rows past the committed offset too.
Forgetting before committing means a failure in between leaves the offsets where they were
(nothing is skipped), never the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from stream_app.db import make_engine, make_session_factory
from stream_app.ops.kafka_admin import (
    Assigned,
    OpsError,
    active_members,
    admin_client,
    assigned_consumer,
    committed_offsets,
)
from stream_app.pipeline import ledger
from stream_app.settings import Settings
from stream_app.tasks import group_for, resolve, topic_for

Mode = Literal["earliest", "offset", "shift", "datetime"]


@dataclass(frozen=True)
class ResetSpec:
    mode: Mode
    value: int = 0  # the offset, the shift, or the timestamp in epoch milliseconds


def parse_datetime_ms(text: str) -> int:
    """ISO 8601 to epoch ms; a time without a zone is UTC (kafka-consumer-groups would use local time)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(f"--to-datetime {text!r} is not an ISO 8601 date-time (e.g. 2026-11-29T05:00:00Z)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def compute_targets(
    spec: ResetSpec,
    *,
    begin: Mapping[int, int],
    end: Mapping[int, int],
    committed: Mapping[int, int],
    by_time: Mapping[int, int | None] | None = None,
) -> dict[int, int]:
    """New offset per partition, clamped to [begin, end] like kafka-consumer-groups' range check.

    `committed` lacks partitions never committed (a shift then starts from begin); `by_time` is
    the first offset at or after the --to-datetime instant, None when there is none (then: end).
    """
    targets: dict[int, int] = {}
    for p in begin:
        if spec.mode == "earliest":
            want = begin[p]
        elif spec.mode == "offset":
            want = spec.value
        elif spec.mode == "shift":
            want = committed.get(p, begin[p]) + spec.value
        else:
            found = (by_time or {}).get(p)
            want = end[p] if found is None else found
        targets[p] = min(max(want, begin[p]), end[p])
    return targets


@dataclass(frozen=True)
class PartitionReset:
    partition: int
    old: int | None  # None: the group never committed on this partition
    new: int
    end: int  # the partition's end offset (high watermark) when the replay looked
    forgotten: int  # ledger rows of offsets [new, end) forgotten (or, in a dry run, that would be)


@dataclass(frozen=True)
class ReplayReport:
    task: str
    group: str
    topic: str
    resets: list[PartitionReset]
    forgotten: int
    dry_run: bool

    def lines(self) -> list[str]:
        out = [f"{'partition':>9}  {'old':>12}  {'new':>12}  {'end':>12}  {'forgotten':>9}"]
        out += [
            f"{r.partition:>9}  {'-' if r.old is None else r.old:>12}  {r.new:>12}  {r.end:>12}  {r.forgotten:>9}"
            for r in self.resets
        ]
        if self.dry_run:
            out.append(f"dry run: {self.forgotten} ledger rows would be forgotten; nothing changed")
        else:
            out.append(f"{self.forgotten} ledger rows forgotten; offsets of group {self.group} committed")
        return out


async def replay(settings: Settings, task_name: str, spec: ResetSpec, *, dry_run: bool = False) -> ReplayReport:
    task = resolve(task_name)
    group, topic = group_for(task, settings.group_id), topic_for(task, settings.topic_prefix)
    async with admin_client(settings.kafka_bootstrap) as admin:
        members = await active_members(admin, group)
        if members:  # a member's own commits would race ours; Kafka also rejects ours then
            raise OpsError(f"consumer group {group} has {members} active member(s): stop its workers before a replay")
        committed = await committed_offsets(admin, group, topic)
    async with assigned_consumer(settings.kafka_bootstrap, [topic], group_id=group) as a:
        begin = {tp.partition: off for tp, off in a.begin.items()}
        end = {tp.partition: off for tp, off in a.end.items()}
        by_time = await _offsets_at(a, spec) if spec.mode == "datetime" else None
        targets = compute_targets(spec, begin=begin, end=end, committed=committed, by_time=by_time)
        # Up to the end, not the committed offset: ledger rows past it exist when a worker ran
        # records without committing them (killed), or when the group has no offsets at all.
        ranges = {p: (new, end[p]) for p, new in targets.items()}
        forgotten = await _forget(settings, topic, ranges, dry_run=dry_run)
        if not dry_run:
            await _commit(a, group, {TopicPartition(topic, p): off for p, off in targets.items()})
    resets = [PartitionReset(p, committed.get(p), targets[p], end[p], forgotten[p]) for p in sorted(targets)]
    return ReplayReport(task, group, topic, resets, sum(forgotten.values()), dry_run)


async def _commit(a: Assigned, group: str, offsets: dict[TopicPartition, int]) -> None:
    try:
        await a.consumer.commit(offsets)
    except CommitFailedError:  # a worker joined after our check: Kafka refuses a non-member's commit
        raise OpsError(
            f"a worker joined consumer group {group} during the replay: offsets unchanged; stop it and retry"
        ) from None


async def _offsets_at(a: Assigned, spec: ResetSpec) -> dict[int, int | None]:
    found = await a.consumer.offsets_for_times({tp: spec.value for tp in a.partitions})
    return {tp.partition: (None if hit is None else hit.offset) for tp, hit in found.items()}


async def _forget(
    settings: Settings, topic: str, ranges: Mapping[int, tuple[int, int]], *, dry_run: bool
) -> dict[int, int]:
    """Delete the ledger rows of every [start, stop) range in one transaction; a dry run rolls back.

    Returns the rows deleted (or, in a dry run, that would be) per partition.
    """
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            counts = dict.fromkeys(ranges, 0)
            for partition, (start, stop) in sorted(ranges.items()):
                if start < stop:
                    counts[partition] = await ledger.forget_range(
                        session, topic=topic, partition=partition, start=start, end=stop
                    )
            await (session.rollback() if dry_run else session.commit())
            return counts
    finally:
        await engine.dispose()
