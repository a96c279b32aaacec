"""build_record: what the web app's producer sends, checked before anything reaches Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from stream_app import records, task_args
from stream_app.client import InvalidTaskArguments, build_record
from stream_app.records import REGISTRY, TaskSpec, decode
from stream_app.tasks import UnknownTask

NOTIFY = "app.tasks.notify.Notify"
SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
MAX = 1_048_576


def test_valid_args_give_the_task_name_a_uuid_the_key_and_bytes_that_decode() -> None:
    args = {"repoid": 7, "commitid": SHA, "current_yaml": {"codecov": {"require_ci_to_pass": False}}}

    name, record_id, key, value = build_record(NOTIFY, args)

    assert name == NOTIFY
    assert uuid.UUID(record_id).version == 4
    assert key == f"7:{SHA}"
    rec = decode(value, expected_task=NOTIFY, max_bytes=MAX)
    assert rec.envelope.id == record_id
    assert rec.envelope.version == 1
    assert rec.args == task_args.NotifyV1.model_validate(args)


def test_each_record_gets_its_own_id() -> None:
    ids = {build_record("flush_repo", {"repoid": 7})[1] for _ in range(3)}

    assert len(ids) == 3


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("notify", NOTIFY),
        ("pulls_sync", "app.tasks.pulls.Sync"),
        ("upload_finisher", "app.tasks.upload_finisher.UploadFinisherTask"),
    ],
)
def test_a_short_name_is_accepted_and_the_record_carries_the_full_name(short: str, full: str) -> None:
    args = {"repoid": 7, "commitid": SHA, "pullid": 42}
    args = {k: v for k, v in args.items() if k in REGISTRY[full].args_model().model_fields}

    name, _, _, value = build_record(short, args)

    assert name == full
    assert json.loads(value)["task"] == full


def test_verify_bot_records_are_keyed_by_what_they_check() -> None:
    assert build_record("verify_bot", {"repoid": 7})[2] == "repo:7"
    assert build_record("verify_bot", {"ownerid": 3})[2] == "owner:3"


def test_not_before_and_extra_fields_go_into_the_envelope() -> None:
    at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)

    _, _, _, value = build_record("flush_repo", {"repoid": 7}, not_before=at, extra={"producer": "web/2.3.1"})

    env = decode(value, expected_task="app.tasks.flush_repo.FlushRepo", max_bytes=MAX).envelope
    assert env.not_before == at
    assert env.producer == "web/2.3.1"


@pytest.mark.parametrize(
    ("task", "args", "field"),
    [
        pytest.param(NOTIFY, {"repoid": "7", "commitid": SHA}, "repoid", id="string-for-int"),
        pytest.param(NOTIFY, {"repoid": 7}, "commitid", id="missing"),
        pytest.param(
            "upload",
            {"repoid": 7, "commitid": SHA, "uploads": [{"upload_id": "u1", "storage_path": 5}]},
            "uploads.0.storage_path",
            id="nested",
        ),
        pytest.param("send_email", {"to_addr": "nobody", "subject": "s", "template_name": "t"}, "to_addr", id="email"),
    ],
)
def test_invalid_args_raise_a_one_line_error_naming_the_field(task: str, args: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidTaskArguments) as caught:
        build_record(task, args)

    message = str(caught.value)
    assert "\n" not in message
    assert f": {field}: " in message


def test_verify_bot_with_both_ids_is_invalid() -> None:
    with pytest.raises(InvalidTaskArguments, match="exactly one of ownerid and repoid"):
        build_record("verify_bot", {"ownerid": 1, "repoid": 7})


def test_an_unknown_version_is_invalid_task_arguments() -> None:
    with pytest.raises(InvalidTaskArguments, match=r"no record version 2 \(newest: 1\)"):
        build_record(NOTIFY, {"repoid": 7, "commitid": SHA}, version=2)


def test_an_unknown_task_is_unknown_task() -> None:
    with pytest.raises(UnknownTask):
        build_record("app.tasks.nope.Nope", {"repoid": 7})
    with pytest.raises(UnknownTask):
        build_record("nope", {"repoid": 7})


class FlushV1(task_args.Args):
    repoid: int


class FlushV2(task_args.Args):
    repoid: int
    shard: str


def test_an_older_version_is_sent_as_is_and_keyed_by_its_upcast_args(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "app.tasks.flush_repo.FlushRepo"

    def key(args: BaseModel) -> str | None:
        assert isinstance(args, FlushV2)
        return f"{args.repoid}/{args.shard}"

    spec = TaskSpec(
        name=name,
        versions={1: FlushV1, 2: FlushV2},
        key=key,
        upcasters={1: lambda d: {**d, "shard": "s0"}},
    )
    monkeypatch.setitem(records.REGISTRY, name, spec)

    _, _, k, value = build_record(name, {"repoid": 7}, version=1)

    assert k == "7/s0"
    body = json.loads(value)
    assert (body["version"], body["args"]) == (1, {"repoid": 7})
    assert build_record(name, {"repoid": 7, "shard": "s9"})[2] == "7/s9"  # the newest by default


def test_an_unknown_argument_is_refused_so_a_typo_is_not_lost() -> None:
    with pytest.raises(InvalidTaskArguments, match=r"unknown argument.*current_yml"):
        build_record("notify", {"repoid": 7, "commitid": SHA, "current_yml": {}})
