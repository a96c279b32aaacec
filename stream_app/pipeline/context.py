"""What a task handler receives, and the handler's type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.settings import Settings
from stream_app.storage import ArchiveStorage

Result = dict[str, Any]
Schedule = Callable[..., Awaitable[str]]


@dataclass(frozen=True)
class TaskContext:
    """One record's resources. `session` is inside the record's transaction: never commit it."""

    session: AsyncSession
    storage: ArchiveStorage
    record_id: str
    attempt: int
    schedule: Schedule  # schedule(task, key=None, *, record_id=None, **args) -> record id, via the outbox
    settings: Settings
    http: httpx.AsyncClient  # shared by all records: connection pooling to outside services


Handler = Callable[[TaskContext, Any], Awaitable[Result]]


@dataclass(frozen=True)
class Delivery:
    """One Kafka message as the pipeline sees it (faust-free, so it is testable alone)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
