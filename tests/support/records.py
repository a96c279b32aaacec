"""Record bytes for tests, built by hand (not by project code) like any outside producer would."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.probe import TASK


def envelope(args: dict[str, Any], *, task: str = TASK, version: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "task": task,
        "version": version,
        "id": extra.pop("id", None) or str(uuid.uuid4()),
        "created_at": "2026-11-29T05:00:00.123456Z",
        "args": args,
        **extra,
    }


def raw(args: dict[str, Any], **kw: Any) -> bytes:
    return json.dumps(envelope(args, **kw)).encode()
