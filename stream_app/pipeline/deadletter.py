"""Dead letters: the original bytes, unchanged, with the reason in headers (readable with kcat)."""

from __future__ import annotations

from datetime import UTC, datetime

from stream_app.pipeline.context import Delivery
from stream_app.pipeline.publisher import Headers


def dead_letter_headers(delivery: Delivery, *, task: str, reason: str, detail: str, attempt: int) -> Headers:
    values = {
        "error.reason": reason,
        "error.detail": detail[:2000],
        "task": task,
        "source.topic": delivery.topic,
        "source.partition": str(delivery.partition),
        "source.offset": str(delivery.offset),
        "attempt": str(attempt),
        "failed_at": datetime.now(UTC).isoformat(),
    }
    return [(k, v.encode()) for k, v in values.items()]


def header_map(headers: Headers) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in headers}
