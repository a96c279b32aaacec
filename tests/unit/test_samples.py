"""Golden samples (style rule 8): one real-looking record per task version, frozen in tests/samples.

A sample is never edited to follow the code. If one stops decoding, the change broke records
that producers may still send: add a new version with an upcaster instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stream_app.records import REGISTRY, decode
from stream_app.tasks import TASK_NAMES

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MAX = 1_048_576
TASKS = sorted(REGISTRY)


def sample_path(task: str, version: int = 1) -> Path:
    return SAMPLES / f"{TASK_NAMES[task]}.v{version}.json"


def _subset(small: Any, big: Any) -> bool:
    """`small`'s values all appear in `big` (dict keys recursively; lists item by item)."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and _subset(v, big[k]) for k, v in small.items())
    if isinstance(small, list):
        return isinstance(big, list) and len(small) == len(big) and all(map(_subset, small, big))
    return small == big and type(small) is type(big)


@pytest.mark.parametrize("task", TASKS, ids=[TASK_NAMES[t] for t in TASKS])
def test_every_task_has_a_v1_golden_sample(task: str) -> None:
    assert sample_path(task).is_file(), f"write {sample_path(task).relative_to(SAMPLES.parent.parent)}"


@pytest.mark.parametrize("task", TASKS, ids=[TASK_NAMES[t] for t in TASKS])
def test_the_v1_golden_sample_still_decodes_and_upcasts_to_the_newest_model(task: str) -> None:
    raw = sample_path(task).read_bytes()

    rec = decode(raw, expected_task=task, max_bytes=MAX)

    assert rec.envelope.task == task
    assert rec.envelope.version == 1
    assert type(rec.args) is REGISTRY[task].args_model()


@pytest.mark.parametrize("task", TASKS, ids=[TASK_NAMES[t] for t in TASKS])
def test_v1_still_reads_every_arg_of_its_golden_sample_unchanged(task: str) -> None:
    # The tolerant reader would silently drop a renamed field: every sample arg must still be
    # a v1 field, and read back with the same value and JSON type.
    args = json.loads(sample_path(task).read_text())["args"]

    model = REGISTRY[task].versions[1].model_validate(args)

    assert _subset(args, model.model_dump(mode="json")), model.model_dump(mode="json")


def test_every_sample_file_is_a_known_task_version_named_after_its_record() -> None:
    for path in SAMPLES.glob("*.json"):
        body = json.loads(path.read_text())
        assert body["task"] in REGISTRY, path.name
        assert body["version"] in REGISTRY[body["task"]].versions, path.name
        assert path.name == f"{TASK_NAMES[body['task']]}.v{body['version']}.json"
