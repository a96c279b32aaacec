"""The processed-record ledger: a record id that committed once is a no-op the second time."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import ProcessedRecord
from stream_app.pipeline.context import Delivery

# Plain SQL on the transaction's connection: these two statements run for every record, and
# building ORM statements for them cost more CPU than the rest of a light task (bench/pipeline.py).
_CLAIM = (
    'INSERT INTO processed_records (record_id, task, topic, "partition", "offset", attempt, processed_at) '
    "VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (record_id) DO NOTHING RETURNING 1"
)
_RESULT = "UPDATE processed_records SET result = $2::jsonb WHERE record_id = $1"


async def claim(session: AsyncSession, *, record_id: str, task: str, delivery: Delivery, attempt: int) -> bool:
    """Insert the ledger row; False when the id is already there (a redelivery).

    A concurrent delivery of the same id blocks on the primary key until the first
    transaction ends, then finds the row: two workers never both run one record.
    """
    conn = await session.connection()
    params = (record_id, task, delivery.topic, delivery.partition, delivery.offset, attempt)
    return (await conn.exec_driver_sql(_CLAIM, params)).first() is not None


async def record_result(session: AsyncSession, *, record_id: str, result_json: str) -> None:
    conn = await session.connection()
    await conn.exec_driver_sql(_RESULT, (record_id, result_json))


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
