"""The worker's own tables: the processed-record ledger and the outbox (follow-ups and retries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from stream_app.models.base import Base


class ProcessedRecord(Base):
    """One row per record id whose task transaction committed: a redelivery finds it and stops."""

    __tablename__ = "processed_records"
    __table_args__ = (Index("ix_processed_records_position", "topic", "partition", "offset"),)

    record_id: Mapped[str] = mapped_column(Text, primary_key=True)
    task: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[Any | None] = mapped_column(JSONB)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxRecord(Base):
    """A record to publish once its transaction commits, at or after `not_before`.

    Follow-up tasks (not_before = now) and delayed retries (not_before = later) both live here,
    so one relay publishes both and both survive a crash right after the commit.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_not_before", "not_before"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(Text)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
