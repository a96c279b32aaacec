"""`stream-app schema`: the JSON Schema of every task version, for non-Python producers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stream_app.records import REGISTRY, Envelope
from stream_app.tasks import short_name


def record_schema(task: str, version: int) -> dict[str, Any]:
    """The whole record (envelope) with `args` of one task version."""
    schema = Envelope.model_json_schema()
    args = REGISTRY[task].versions[version].model_json_schema()
    schema["title"] = f"{task} v{version}"
    schema["properties"]["task"] = {"const": task}
    schema["properties"]["version"] = {"const": version}
    schema["properties"]["args"] = {"$ref": "#/$defs/Args"}
    defs = schema.setdefault("$defs", {})
    defs.update(args.pop("$defs", {}))
    defs["Args"] = args
    return schema


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for task, spec in REGISTRY.items():
        for version in spec.versions:
            path = out / f"{short_name(task)}.v{version}.json"
            path.write_text(json.dumps(record_schema(task, version), indent=2, sort_keys=True) + "\n")
            written.append(path)
    return written
