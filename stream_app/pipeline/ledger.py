"""The processed-record ledger: a record id that committed once is a no-op the second time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import ProcessedRecord
from stream_app.pipeline.context import Delivery

# Plain SQL on the transaction's connection: these statements run for every transaction, and
# building ORM statements for them cost more CPU than the rest of a light task (bench/pipeline.py).
# All of a transaction's claims in one statement (one record alone is a batch of one), in record-id
# order so two batches never lock in opposite orders.
_CLAIM_MANY = (
    'INSERT INTO processed_records (record_id, task, topic, "partition", "offset", attempt, processed_at) '
    "SELECT r, $1, t, p, o, a, now() "
    "FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::int[]) AS u(r, t, p, o, a) ORDER BY r "
    "ON CONFLICT (record_id) DO NOTHING RETURNING record_id"
)
_RESULT_MANY = (
    "UPDATE processed_records AS p SET result = u.result::jsonb "
    "FROM unnest($1::text[], $2::text[]) AS u(record_id, result) WHERE p.record_id = u.record_id"
)


async def claim_many(session: AsyncSession, *, task: str, claims: Sequence[tuple[str, Delivery, int]]) -> set[str]:
    """Insert the ledger rows of (record id, delivery, attempt); returns the ids newly claimed.

    An id not returned already committed once (a redelivery). A concurrent delivery of the same
    id blocks on the primary key until the first transaction ends, then finds the row: two
    workers never both run one record. The ids must be distinct (a batch never holds one twice).
    """
    ordered = sorted(claims, key=lambda claim: claim[0])
    columns = (
        [record_id for record_id, _, _ in ordered],
        [delivery.topic for _, delivery, _ in ordered],
        [delivery.partition for _, delivery, _ in ordered],
        [delivery.offset for _, delivery, _ in ordered],
        [attempt for _, _, attempt in ordered],
    )
    conn = await session.connection()
    return {row[0] for row in await conn.exec_driver_sql(_CLAIM_MANY, (task, *columns))}


async def record_results(session: AsyncSession, results: Sequence[tuple[str, str]]) -> None:
    """Store each (record id, result JSON) in its ledger row."""
    conn = await session.connection()
    await conn.exec_driver_sql(_RESULT_MANY, ([rid for rid, _ in results], [js for _, js in results]))


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
