"""Records (contract section 2): parse, check, upcast, encode; every rejection has its reason code."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel

from stream_app import task_args
from stream_app.errors import InvalidRecord, NewerVersion
from stream_app.records import (
    REGISTRY,
    Record,
    TaskSpec,
    decode,
    encode,
    parse_envelope,
    reattempt,
    upcast,
    without_retry_state,
)
from stream_app.tasks import SHORT_NAMES

MAX = 1_048_576
NOTIFY = "app.tasks.notify.Notify"
SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
CREATED = "2026-11-29T05:00:00.123456Z"


def record(args: Any = None, **fields: Any) -> dict[str, Any]:
    body = {
        "task": NOTIFY,
        "version": 1,
        "id": "5f0c1c9e-8a3b-4d0e-9d61-0e4c7f0a1b2c",
        "created_at": CREATED,
        "args": {"repoid": 7, "commitid": SHA} if args is None else args,
    }
    return {**body, **fields}


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def decode_notify(value: bytes, **kw: Any) -> Record:
    return decode(value, expected_task=NOTIFY, max_bytes=MAX, **kw)


def rejection(value: bytes, *, expected_task: str = NOTIFY, **kw: Any) -> InvalidRecord:
    with pytest.raises(InvalidRecord) as caught:
        decode(value, expected_task=expected_task, max_bytes=kw.pop("max_bytes", MAX), **kw)
    return caught.value


# --- accepting ------------------------------------------------------------------------------


def test_a_valid_record_decodes_to_its_envelope_and_typed_args() -> None:
    rec = decode_notify(raw(record(current_yaml=None)))

    assert rec.envelope.task == NOTIFY
    assert rec.envelope.version == 1
    assert rec.envelope.id == "5f0c1c9e-8a3b-4d0e-9d61-0e4c7f0a1b2c"
    assert rec.envelope.created_at == datetime(2026, 11, 29, 5, 0, 0, 123456, tzinfo=UTC)
    assert rec.envelope.attempt == 0
    assert rec.envelope.not_before is None
    assert isinstance(rec.args, task_args.NotifyV1)
    assert rec.args == task_args.NotifyV1(repoid=7, commitid=SHA, current_yaml=None)


def test_the_optional_envelope_fields_are_read() -> None:
    body = record(not_before="2026-11-29T06:00:00+01:00", trace_id="abc123", producer="web/2.3.1", attempt=3)

    env = decode_notify(raw(body)).envelope

    assert env.not_before == datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
    assert (env.trace_id, env.producer, env.attempt) == ("abc123", "web/2.3.1", 3)


def test_unknown_top_level_fields_and_unknown_args_keys_are_ignored() -> None:
    body = record(
        args={"repoid": 7, "commitid": SHA, "future_option": {"x": 1}},
        priority="high",
        headers_v2=[1, 2, 3],
    )

    rec = decode_notify(raw(body))

    assert rec.args == task_args.NotifyV1(repoid=7, commitid=SHA)
    assert "future_option" not in rec.args.model_dump()
    assert not hasattr(rec.envelope, "priority")


def test_a_record_of_exactly_the_size_limit_is_accepted() -> None:
    value = raw(record())

    assert decode(value, expected_task=NOTIFY, max_bytes=len(value)).envelope.id


# --- rejecting, with the reason code --------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b'{"task": "\xff\xfe"}', id="bad-utf8"),
        pytest.param(b'{"task": "app.tasks.notify.Notify",', id="truncated-json"),
        pytest.param(b"{'task': 'single quotes'}", id="not-json-syntax"),
        pytest.param(b"", id="empty"),
    ],
)
def test_bytes_that_are_not_utf8_json_are_rejected_as_not_json(value: bytes) -> None:
    assert rejection(value).code == "not_json"


@pytest.mark.parametrize("body", [[record()], "a string", 7, None, True], ids=["list", "str", "int", "null", "bool"])
def test_json_that_is_not_an_object_is_rejected_as_not_an_object(body: Any) -> None:
    assert rejection(raw(body)).code == "not_an_object"


def _without(key: str) -> dict[str, Any]:
    body = record()
    del body[key]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(_without("id"), "id", id="missing-id"),
        pytest.param(record(id=""), "id", id="empty-id"),
        pytest.param(_without("task"), "task", id="missing-task"),
        pytest.param(record(version=0), "version", id="version-0"),
        pytest.param(record(version=-1), "version", id="negative-version"),
        pytest.param(record(created_at="2026-11-29T05:00:00"), "created_at", id="created-at-without-timezone"),
        pytest.param(record(created_at="yesterday"), "created_at", id="created-at-not-a-time"),
        pytest.param(_without("created_at"), "created_at", id="missing-created-at"),
        pytest.param(record(args=[7, SHA]), "args", id="args-a-list"),
        pytest.param(record(args="repoid=7"), "args", id="args-a-string"),
        pytest.param({**record(), "args": None}, "args", id="args-null"),
        pytest.param(record(not_before="2026-11-29T06:00:00"), "not_before", id="not-before-without-timezone"),
        pytest.param(record(attempt=-1), "attempt", id="negative-attempt"),
    ],
)
def test_a_bad_envelope_is_rejected_as_invalid_envelope_naming_the_field(body: dict[str, Any], field: str) -> None:
    exc = rejection(raw(body))

    assert exc.code == "invalid_envelope"
    assert exc.detail.startswith(f"{field}:")


def test_a_record_over_the_size_limit_is_rejected_as_too_large_before_parsing() -> None:
    value = raw(record())

    exc = rejection(value, max_bytes=len(value) - 1)
    assert exc.code == "too_large"
    # the size check comes first: an oversized record is not even parsed
    assert rejection(b"{" + b" " * 100, max_bytes=10).code == "too_large"


def test_a_record_of_a_task_nobody_knows_is_rejected_as_unknown_task() -> None:
    assert rejection(raw(record(task="app.tasks.nope.Nope"))).code == "unknown_task"


def test_a_record_of_another_known_task_is_rejected_as_wrong_task() -> None:
    body = record(task="app.tasks.flush_repo.FlushRepo", args={"repoid": 7})

    assert rejection(raw(body)).code == "wrong_task"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param({"repoid": "7", "commitid": SHA}, "repoid", id="string-for-int"),
        pytest.param({"repoid": 7.0, "commitid": SHA}, "repoid", id="float-for-int"),
        pytest.param({"repoid": True, "commitid": SHA}, "repoid", id="bool-for-int"),
        pytest.param({"repoid": 7, "commitid": 1234567}, "commitid", id="int-for-string"),
        pytest.param({"repoid": 7, "commitid": ""}, "commitid", id="empty-sha"),
        pytest.param({"repoid": 7}, "commitid", id="missing-required"),
        pytest.param({"repoid": 7, "commitid": SHA, "current_yaml": "codecov: {}"}, "current_yaml", id="str-for-obj"),
    ],
)
def test_args_are_strict_and_a_mismatch_is_rejected_as_invalid_args(args: dict[str, Any], field: str) -> None:
    exc = rejection(raw(record(args=args)))

    assert exc.code == "invalid_args"
    assert exc.detail.startswith(f"{field}:")


def test_invalid_args_detail_is_one_line_and_counts_the_other_errors() -> None:
    exc = rejection(raw(record(args={"repoid": "7"})))

    assert "\n" not in exc.detail
    assert exc.detail.endswith("(+1 more)")


def test_a_nested_args_error_names_its_path() -> None:
    body = record(
        task="app.tasks.upload.Upload",
        args={"repoid": 7, "commitid": SHA, "uploads": [{"upload_id": "u1", "storage_path": "a"}, {"upload_id": "u2"}]},
    )

    exc = rejection(raw(body), expected_task="app.tasks.upload.Upload")

    assert exc.code == "invalid_args"
    assert exc.detail.startswith("uploads.1.storage_path:")


def test_a_version_newer_than_the_newest_raises_newer_version_not_invalid_record() -> None:
    with pytest.raises(NewerVersion) as caught:
        decode_notify(raw(record(version=2, args={"anything": "goes"})))

    assert caught.value.version == 2
    assert "newer than 1" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-100000-deep"),
        pytest.param(b'{"task": "app.tasks.notify.Notify", "n": ' + b"9" * 5000 + b"}", id="5000-digit-integer"),
    ],
)
def test_json_that_python_cannot_load_is_still_an_invalid_record(value: bytes) -> None:
    # Both are under the 1 MiB limit. json.loads raises RecursionError / ValueError for them; anything
    # but InvalidRecord from here makes the pipeline pause and retry the record for ever (a poison pill).
    with pytest.raises(InvalidRecord):
        parse_envelope(value, MAX)


# --- versions and upcasting (test-only models) ----------------------------------------------

GREET = "tests.greet.Greet"


class GreetV1(task_args.Args):
    repoid: int
    name: str


class GreetV2(task_args.Args):
    repoid: int
    full_name: str
    greeting: str = "hello"


class GreetV3(task_args.Args):
    repoid: int
    full_name: str
    greeting: str
    loud: bool


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"repoid": data["repoid"], "full_name": data["name"].title(), "greeting": "hello"}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "greeting": data["greeting"].upper(), "loud": True}


def _key(args: BaseModel) -> str | None:
    return str(getattr(args, "repoid", None))


SPEC_V2 = TaskSpec(name=GREET, versions={1: GreetV1, 2: GreetV2}, key=_key, upcasters={1: _v1_to_v2})
SPEC_V3 = TaskSpec(
    name=GREET,
    versions={1: GreetV1, 2: GreetV2, 3: GreetV3},
    key=_key,
    upcasters={1: _v1_to_v2, 2: _v2_to_v3},
)


def decode_greet(version: int, args: dict[str, Any], spec: TaskSpec) -> BaseModel:
    value = raw(record(task=GREET, version=version, args=args))
    return decode(value, expected_task=GREET, max_bytes=MAX, registry={GREET: spec}).args


def test_a_v1_record_is_upcast_to_the_v2_model() -> None:
    args = decode_greet(1, {"repoid": 7, "name": "ada lovelace"}, SPEC_V2)

    assert args == GreetV2(repoid=7, full_name="Ada Lovelace", greeting="hello")


def test_a_v2_record_passes_through_without_upcasting() -> None:
    args = decode_greet(2, {"repoid": 7, "full_name": "ada", "greeting": "hi"}, SPEC_V2)

    assert args == GreetV2(repoid=7, full_name="ada", greeting="hi")


def test_v1_args_are_checked_against_the_v1_model_not_the_newest() -> None:
    value = raw(record(task=GREET, version=1, args={"repoid": 7, "full_name": "ada"}))

    with pytest.raises(InvalidRecord) as caught:
        decode(value, expected_task=GREET, max_bytes=MAX, registry={GREET: SPEC_V2})

    assert caught.value.code == "invalid_args"
    assert caught.value.detail.startswith("name:")


def test_upcasts_chain_from_v1_through_v2_to_v3() -> None:
    assert decode_greet(1, {"repoid": 7, "name": "ada"}, SPEC_V3) == GreetV3(
        repoid=7, full_name="Ada", greeting="HELLO", loud=True
    )
    assert decode_greet(2, {"repoid": 7, "full_name": "ada", "greeting": "hi"}, SPEC_V3) == GreetV3(
        repoid=7, full_name="ada", greeting="HI", loud=True
    )
    assert decode_greet(3, {"repoid": 7, "full_name": "ada", "greeting": "yo", "loud": False}, SPEC_V3) == GreetV3(
        repoid=7, full_name="ada", greeting="yo", loud=False
    )


def test_each_upcast_step_gets_the_previous_versions_data_with_its_defaults() -> None:
    # An upcaster for an added optional field naturally leaves it out and lets GreetV2's default
    # apply; the 2->3 upcaster must then see the same data for an upcast v1 record as for a v2
    # record without that field (which GreetV2 validates and dumps with the default filled in).
    spec = TaskSpec(
        name=GREET,
        versions={1: GreetV1, 2: GreetV2, 3: GreetV3},
        key=_key,
        upcasters={1: lambda d: {"repoid": d["repoid"], "full_name": d["name"]}, 2: _v2_to_v3},
    )
    from_v2 = decode_greet(2, {"repoid": 7, "full_name": "ada"}, spec)

    from_v1 = decode_greet(1, {"repoid": 7, "name": "ada"}, spec)

    assert from_v1 == from_v2 == GreetV3(repoid=7, full_name="ada", greeting="HELLO", loud=True)


def test_an_upcaster_whose_output_does_not_fit_the_newest_model_is_invalid_args() -> None:
    spec = TaskSpec(name=GREET, versions={1: GreetV1, 2: GreetV2}, key=_key, upcasters={1: lambda d: {"repoid": 7}})

    with pytest.raises(InvalidRecord) as caught:
        upcast(spec, 1, {"repoid": 7, "name": "ada"})

    assert caught.value.code == "invalid_args"
    assert "full_name: Field required" in caught.value.detail


def test_a_retired_version_below_the_newest_is_unsupported_version() -> None:
    spec = TaskSpec(name=GREET, versions={2: GreetV2, 3: GreetV3}, key=_key, upcasters={2: _v2_to_v3})

    with pytest.raises(InvalidRecord) as caught:
        decode_greet(1, {"repoid": 7, "name": "ada"}, spec)

    assert caught.value.code == "unsupported_version"


def test_a_version_above_a_multi_version_spec_is_newer_version() -> None:
    with pytest.raises(NewerVersion) as caught:
        decode_greet(4, {"repoid": 7}, SPEC_V3)

    assert caught.value.version == 4


def test_a_task_spec_knows_its_newest_version_and_models() -> None:
    assert SPEC_V3.newest == 3
    assert SPEC_V3.args_model() is GreetV3
    assert SPEC_V3.args_model(1) is GreetV1


# --- VerifyBot: exactly one of ownerid and repoid -------------------------------------------

VERIFY_BOT = "app.tasks.bot.VerifyBot"


@pytest.mark.parametrize(
    ("args", "key"),
    [({"ownerid": 1}, "owner:1"), ({"repoid": 7}, "repo:7"), ({"ownerid": None, "repoid": 7}, "repo:7")],
)
def test_verify_bot_accepts_exactly_one_of_ownerid_and_repoid(args: dict[str, Any], key: str) -> None:
    rec = decode(raw(record(task=VERIFY_BOT, args=args)), expected_task=VERIFY_BOT, max_bytes=MAX)

    assert isinstance(rec.args, task_args.VerifyBotV1)
    assert REGISTRY[VERIFY_BOT].key(rec.args) == key  # checks of one owner or repo stay in order


@pytest.mark.parametrize("args", [{"ownerid": 1, "repoid": 7}, {}, {"ownerid": None, "repoid": None}])
def test_verify_bot_rejects_both_or_neither(args: dict[str, Any]) -> None:
    exc = rejection(raw(record(task=VERIFY_BOT, args=args)), expected_task=VERIFY_BOT)

    assert exc.code == "invalid_args"
    assert "exactly one of ownerid and repoid" in exc.detail


# --- encode and reattempt -------------------------------------------------------------------


def test_encoded_bytes_decode_to_the_same_record() -> None:
    args = task_args.NotifyV1(repoid=7, commitid=SHA, current_yaml={"codecov": {"notify": {"wait_for_ci": False}}})
    before = datetime.now(UTC)

    rid, value = encode(NOTIFY, args, version=1, extra={"producer": "web/2.3.1"})

    rec = decode_notify(value)
    assert rec.args == args
    assert rec.envelope.id == rid
    assert uuid.UUID(rid).version == 4
    assert rec.envelope.version == 1
    assert rec.envelope.producer == "web/2.3.1"
    assert rec.envelope.attempt == 0
    assert rec.envelope.not_before is None
    assert before - timedelta(seconds=1) <= rec.envelope.created_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert json.loads(value)["created_at"].endswith("Z")


def test_encode_keeps_a_given_id_not_before_and_attempt() -> None:
    not_before = datetime(2026, 11, 29, 8, 30, tzinfo=timezone(timedelta(hours=2)))

    rid, value = encode(
        "app.tasks.flush_repo.FlushRepo",
        task_args.FlushRepoV1(repoid=7),
        version=1,
        record_id="fixed-id",
        not_before=not_before,
        attempt=2,
    )

    env = decode(value, expected_task="app.tasks.flush_repo.FlushRepo", max_bytes=MAX).envelope
    assert rid == env.id == "fixed-id"
    assert env.not_before == not_before
    assert json.loads(value)["not_before"] == "2026-11-29T06:30:00.000000Z"
    assert env.attempt == 2


def test_reattempt_keeps_id_args_and_unknown_fields_and_sets_attempt_and_not_before() -> None:
    original = record(
        args={"repoid": 7, "commitid": SHA, "added_later": [1, 2]},
        attempt=1,
        not_before="2026-11-29T05:00:01Z",
        trace_id="t-1",
        x_custom={"kept": True},
    )
    at = datetime(2026, 11, 29, 7, 0, 0, 500000, tzinfo=timezone(timedelta(hours=1)))

    again = json.loads(reattempt(raw(original), attempt=2, not_before=at))

    assert again["attempt"] == 2
    assert again["not_before"] == "2026-11-29T06:00:00.500000Z"
    changed = {"attempt", "not_before"}
    assert {k: v for k, v in again.items() if k not in changed} == {
        k: v for k, v in original.items() if k not in changed
    }
    env = decode_notify(reattempt(raw(original), attempt=2, not_before=at)).envelope
    assert (env.id, env.attempt, env.not_before) == (original["id"], 2, at)


def test_reattempt_keeps_non_ascii_text_as_utf8_so_a_retry_stays_within_the_size_limit() -> None:
    text = "é中🙂" * 20_000  # 180,000 bytes of UTF-8; escaped as \\uXXXX it would be 600,000
    original = json.dumps(record(args={"repoid": 7, "commitid": SHA, "note": text}), ensure_ascii=False).encode()

    again = reattempt(original, attempt=1, not_before=datetime(2026, 11, 29, tzinfo=UTC))

    assert len(again) - len(original) < 80  # only the attempt and not_before fields were added
    assert json.loads(again)["args"]["note"] == text


def test_reattempt_counts_version_waits_apart_from_attempts() -> None:
    original = record(args={"repoid": 7, "commitid": SHA}, attempt=3)
    at = datetime(2026, 11, 29, 7, tzinfo=UTC)

    again = json.loads(reattempt(raw(original), version_waits=1, not_before=at))

    assert (again["attempt"], again["version_waits"]) == (3, 1)
    assert decode_notify(raw(again)).envelope.version_waits == 1


def test_without_retry_state_clears_the_retry_fields_and_keeps_everything_else() -> None:
    original = record(args={"repoid": 7, "commitid": SHA, "note": "é"}, trace_id="t-1")
    retried = {**original, "attempt": 8, "version_waits": 2, "not_before": "2026-11-29T05:00:01Z"}

    assert json.loads(without_retry_state(raw(retried))) == original
    assert without_retry_state(raw(original)) == raw(original)  # nothing to clear: the same bytes
    for junk in (b"not json", b"[1, 2]", b"\xff"):
        assert without_retry_state(junk) == junk  # a dead letter that is no record stays as it was


# --- keys -----------------------------------------------------------------------------------

# One minimal valid args example per task, and the message key the producer library picks for it.
KEYED_EXAMPLES: dict[str, tuple[dict[str, Any], str | None]] = {
    "sync_teams": ({"ownerid": 1042}, "1042"),
    "sync_repos": ({"ownerid": 1042, "username": None}, "1042"),
    "delete_owner": ({"ownerid": 1042}, "1042"),
    "notify": ({"repoid": 7, "commitid": SHA}, f"7:{SHA}"),
    "pulls_sync": ({"repoid": 7, "pullid": 42}, "7:42"),
    "status_set_error": ({"repoid": 7, "commitid": SHA}, f"7:{SHA}"),
    "status_set_pending": ({"repoid": 7, "commitid": SHA, "on_a_pull_request": False}, f"7:{SHA}"),
    "upload": ({"repoid": 7, "commitid": SHA, "uploads": []}, f"7:{SHA}"),
    "archive_migrate": ({"repoid": 7}, "7"),
    "verify_bot": ({"ownerid": 1042}, "owner:1042"),
    "comment": ({"repoid": 7, "pullid": 42}, "7:42"),
    "flush_repo": ({"repoid": 7}, "7"),
    "ghm_sync_plans": ({"sender": {"id": 1}, "account": {"id": 2}, "action": "purchased"}, "2"),
    "send_email": ({"to_addr": "dev@acme.example", "subject": "Hi", "template_name": "welcome"}, "dev@acme.example"),
    "remove_webhook": ({"repoid": 7}, "7"),
    "synchronize": ({"repoid": 7}, "7"),
    "new_user_activated": ({"org_ownerid": 9919, "user_ownerid": 1042}, "9919"),
    "upload_processor": ({"repoid": 7, "commitid": SHA, "upload_id": "u1"}, f"7:{SHA}"),
    "upload_finisher": ({"repoid": 7, "commitid": SHA}, f"7:{SHA}"),
}


@pytest.mark.parametrize("account", [{}, {"id": None}, {"id": True}, {"id": [1]}, {"id": "a-1"}])
def test_sync_plans_without_a_usable_account_id_has_no_key_or_its_text(account: dict[str, Any]) -> None:
    task = "app.tasks.ghm_sync_plans.SyncPlans"
    args = {"sender": {"id": 1}, "account": account, "action": "cancelled"}

    decoded = decode(raw(record(task=task, args=args)), expected_task=task, max_bytes=MAX).args

    assert REGISTRY[task].key(decoded) == ("a-1" if account.get("id") == "a-1" else None)


def test_there_is_a_key_example_for_every_registered_task() -> None:
    assert {SHORT_NAMES[short] for short in KEYED_EXAMPLES} == set(REGISTRY)


@pytest.mark.parametrize(("short", "example"), KEYED_EXAMPLES.items(), ids=list(KEYED_EXAMPLES))
def test_every_task_key_function_returns_its_key_for_valid_args(
    short: str, example: tuple[dict[str, Any], str | None]
) -> None:
    args, expected = example
    task = SHORT_NAMES[short]

    decoded = decode(raw(record(task=task, args=args)), expected_task=task, max_bytes=MAX).args
    key = REGISTRY[task].key(decoded)

    assert key is None or isinstance(key, str)
    assert key == expected
