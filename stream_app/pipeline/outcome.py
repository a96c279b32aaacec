"""How a record ended: what the dispatcher may ack and the log line reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    kind: str  # done | duplicate | deferred | retry_scheduled | dead_lettered
    record_id: str | None = None
    attempt: int = 0
    result: dict[str, Any] | None = None
    reason: str | None = None
