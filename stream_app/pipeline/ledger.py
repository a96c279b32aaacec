"""The processed-record ledger: a record id that committed once is a no-op the second time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import ProcessedRecord
from stream_app.pipeline.context import Delivery


async def claim(session: AsyncSession, *, record_id: str, task: str, delivery: Delivery, attempt: int) -> bool:
    """Insert the ledger row; False when the id is already there (a redelivery).

    A concurrent delivery of the same id blocks on the primary key until the first
    transaction ends, then finds the row: two workers never both run one record.
    """
    stmt = (
        insert(ProcessedRecord)
        .values(
            record_id=record_id,
            task=task,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            attempt=attempt,
        )
        .on_conflict_do_nothing(index_elements=["record_id"])
        .returning(ProcessedRecord.record_id)
    )
    return (await session.execute(stmt)).first() is not None


async def record_result(session: AsyncSession, *, record_id: str, result: dict[str, Any]) -> None:
    await session.execute(update(ProcessedRecord).where(ProcessedRecord.record_id == record_id).values(result=result))


async def forget_range(session: AsyncSession, *, topic: str, partition: int, start: int, end: int) -> int:
    """Forget the records at offsets [start, end) of one partition, so a replay runs them again."""
    stmt = delete(ProcessedRecord).where(
        ProcessedRecord.topic == topic,
        ProcessedRecord.partition == partition,
        ProcessedRecord.offset >= start,
        ProcessedRecord.offset < end,
    )
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
