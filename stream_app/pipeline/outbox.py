"""The outbox: records to publish after their transaction commits (follow-ups and delayed retries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from stream_app import records
from stream_app.models import OutboxRecord
from stream_app.tasks import topic_for

FOLLOW_UPS = "stream_app.follow_ups"  # session.info flag: this transaction wrote outbox rows


async def enqueue(
    session: AsyncSession,
    *,
    topic: str,
    key: bytes | None,
    value: bytes,
    not_before: datetime | None = None,
    reason: str | None = None,
) -> None:
    row = OutboxRecord(topic=topic, key=key, value=value, reason=reason)
    if not_before is not None:
        row.not_before = not_before
    session.add(row)
    session.info[FOLLOW_UPS] = True
    await session.flush()


async def schedule_task(
    session: AsyncSession,
    prefix: str,
    task: str,
    key: str | None = None,
    *,
    record_id: str | None = None,
    **args: object,
) -> str:
    """Schedule a follow-up task in the caller's transaction; returns the new record's id.

    `record_id` (default: a new uuid4) lets a task derive its follow-up's id from its own, so
    that running the task again (a replay) schedules a record the ledger already knows.
    """
    spec = records.REGISTRY[task]
    model = spec.args_model().model_validate(args)
    record_id, value = records.encode(task, model, version=spec.newest, record_id=record_id)
    key = key if key is not None else spec.key(model)
    await enqueue(
        session,
        topic=topic_for(task, prefix),
        key=key.encode() if key else None,
        value=value,
        reason="follow-up",
    )
    return record_id
