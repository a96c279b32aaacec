"""`stream-app schema`: one JSON Schema per task version, for producers not written in Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stream_app.records import REGISTRY
from stream_app.schema import write_schemas
from stream_app.tasks import TASK_NAMES

# The required v1 args of every task (spec/tasks.md): arguments without a default.
REQUIRED_V1: dict[str, set[str]] = {
    "sync_teams": {"ownerid"},
    "sync_repos": {"ownerid"},
    "delete_owner": {"ownerid"},
    "notify": {"repoid", "commitid"},
    "pulls_sync": {"repoid", "pullid"},
    "status_set_error": {"repoid", "commitid"},
    "status_set_pending": {"repoid", "commitid", "on_a_pull_request"},
    "upload": {"repoid", "commitid", "uploads"},
    "archive_migrate": {"repoid"},
    "verify_bot": set(),  # one of ownerid/repoid: not expressible as `required`
    "comment": {"repoid", "pullid"},
    "flush_repo": {"repoid"},
    "ghm_sync_plans": {"sender", "account", "action"},
    "send_email": {"to_addr", "subject", "template_name"},
    "remove_webhook": {"repoid"},
    "synchronize": {"repoid"},
    "new_user_activated": {"org_ownerid", "user_ownerid"},
    "upload_processor": {"repoid", "commitid", "upload_id"},
    "upload_finisher": {"repoid", "commitid"},
}
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("schemas")
    written = write_schemas(out)
    assert sorted(written) == sorted(out.iterdir())
    return {path.name: json.loads(path.read_text()) for path in written}


def test_one_schema_file_per_task_version(schemas: dict[str, dict[str, Any]]) -> None:
    assert len(schemas) == 19
    assert set(schemas) == {f"{short}.v1.json" for short in REQUIRED_V1}


@pytest.mark.parametrize("task", sorted(REGISTRY), ids=[TASK_NAMES[t] for t in sorted(REGISTRY)])
def test_a_schema_pins_task_and_version_and_requires_the_tasks_args(
    schemas: dict[str, dict[str, Any]], task: str
) -> None:
    short = TASK_NAMES[task]
    schema = schemas[f"{short}.v1.json"]

    assert schema["properties"]["task"] == {"const": task}
    assert schema["properties"]["version"] == {"const": 1}
    assert {"task", "version", "id", "created_at", "args"} <= set(schema["required"])
    assert schema["properties"]["args"] == {"$ref": "#/$defs/Args"}
    args = schema["$defs"]["Args"]
    assert REQUIRED_V1[short] <= set(args["properties"])
    assert set(args.get("required", [])) == REQUIRED_V1[short]


@pytest.mark.parametrize("name", [f"{short}.v1.json" for short in REQUIRED_V1])
def test_every_ref_in_a_schema_points_into_its_own_defs(schemas: dict[str, dict[str, Any]], name: str) -> None:
    schema = schemas[name]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)

    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref


@pytest.mark.parametrize("name", [f"{short}.v1.json" for short in REQUIRED_V1])
def test_the_golden_samples_args_are_all_described_by_the_schema(schemas: dict[str, dict[str, Any]], name: str) -> None:
    sample_args = json.loads((SAMPLES / name).read_text())["args"]

    assert set(sample_args) <= set(schemas[name]["$defs"]["Args"]["properties"])
