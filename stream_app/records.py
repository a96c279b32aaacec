"""The record envelope of the contract, the task registry, and decoding with upcasting.

A record is UTF-8 JSON: {task, version, id, created_at, args, not_before?, trace_id?,
producer?, attempt?}. Older `args` versions are upcast to the newest before task code sees
them; a newer version than we know raises NewerVersion so that a newer worker can take it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from stream_app import task_args as a
from stream_app.errors import InvalidRecord, NewerVersion
from stream_app.tasks import TASK_NAMES

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
KeyFn = Callable[[BaseModel], str | None]


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    task: str = Field(min_length=1)
    version: int = Field(ge=1)
    id: str = Field(min_length=1, max_length=200)
    created_at: AwareDatetime
    args: dict[str, Any]
    not_before: AwareDatetime | None = None
    trace_id: str | None = None
    producer: str | None = None
    attempt: int = Field(default=0, ge=0)
    # Times a worker that did not know this record's version sent it back (worker-added, like
    # `attempt`). Counted apart, so waiting out a rolling deploy spends none of the task's retries.
    version_waits: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class TaskSpec:
    """A task's record versions: `versions[v]` validates v; `upcasters[v]` maps v's args to v+1's."""

    name: str
    versions: Mapping[int, type[BaseModel]]
    key: KeyFn
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)

    @property
    def newest(self) -> int:
        return max(self.versions)

    def args_model(self, version: int | None = None) -> type[BaseModel]:
        return self.versions[version or self.newest]


@dataclass(frozen=True)
class Record:
    """A decoded record: its envelope, and its args upcast to the newest version."""

    envelope: Envelope
    args: BaseModel


def _by(*fields: str) -> KeyFn:
    def key(args: BaseModel) -> str | None:
        values = [getattr(args, f) for f in fields]
        return None if any(v is None for v in values) else ":".join(str(v) for v in values)

    return key


def _bot_key(args: BaseModel) -> str:
    """VerifyBot names an owner or a repo: checks of one keep their order."""
    bot = cast(a.VerifyBotV1, args)
    return f"owner:{bot.ownerid}" if bot.ownerid is not None else f"repo:{bot.repoid}"


def _account_key(args: BaseModel) -> str | None:
    """Marketplace events of one account in order (a cancel never overtakes a later purchase)."""
    account_id = cast(a.SyncPlansV1, args).account.get("id")
    return str(account_id) if isinstance(account_id, int | str) and not isinstance(account_id, bool) else None


def _v1(model: type[BaseModel], key: KeyFn) -> dict[str, Any]:
    return {"versions": {1: model}, "key": key}


_V1: dict[str, dict[str, Any]] = {
    "app.tasks.sync_teams.SyncTeams": _v1(a.SyncTeamsV1, _by("ownerid")),
    "app.tasks.sync_repos.SyncRepos": _v1(a.SyncReposV1, _by("ownerid")),
    "app.tasks.delete_owner.DeleteOwner": _v1(a.DeleteOwnerV1, _by("ownerid")),
    "app.tasks.notify.Notify": _v1(a.NotifyV1, _by("repoid", "commitid")),
    "app.tasks.pulls.Sync": _v1(a.PullsSyncV1, _by("repoid", "pullid")),
    "app.tasks.status.SetError": _v1(a.SetErrorV1, _by("repoid", "commitid")),
    "app.tasks.status.SetPending": _v1(a.SetPendingV1, _by("repoid", "commitid")),
    "app.tasks.upload.Upload": _v1(a.UploadV1, _by("repoid", "commitid")),
    "app.tasks.archive.MigrateToArchive": _v1(a.MigrateToArchiveV1, _by("repoid")),
    "app.tasks.bot.VerifyBot": _v1(a.VerifyBotV1, _bot_key),
    "app.tasks.comment.Comment": _v1(a.CommentV1, _by("repoid", "pullid")),
    "app.tasks.flush_repo.FlushRepo": _v1(a.FlushRepoV1, _by("repoid")),
    "app.tasks.ghm_sync_plans.SyncPlans": _v1(a.SyncPlansV1, _account_key),
    "app.tasks.send_email.SendEmail": _v1(a.SendEmailV1, _by("to_addr")),
    "app.tasks.remove_webhook.RemoveOldHook": _v1(a.RemoveOldHookV1, _by("repoid")),
    "app.tasks.synchronize.Synchronize": _v1(a.SynchronizeV1, _by("repoid")),
    "app.tasks.new_user_activated.NewUserActivated": _v1(a.NewUserActivatedV1, _by("org_ownerid")),
    "app.tasks.upload_processor.UploadProcessorTask": _v1(a.UploadProcessorV1, _by("repoid", "commitid")),
    "app.tasks.upload_finisher.UploadFinisherTask": _v1(a.UploadFinisherV1, _by("repoid", "commitid")),
}
REGISTRY: dict[str, TaskSpec] = {name: TaskSpec(name=name, **spec) for name, spec in _V1.items()}
assert set(REGISTRY) == set(TASK_NAMES)


def describe(exc: ValidationError) -> str:
    """A validation error in one line: where, what, and how many more."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(root)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_envelope(raw: bytes, max_bytes: int) -> Envelope:
    if len(raw) > max_bytes:
        raise InvalidRecord("too_large", f"{len(raw)} bytes is over the {max_bytes}-byte limit")
    try:
        data = json.loads(raw)
    # RecursionError: absurd nesting; ValueError: e.g. an integer past Python's digit limit.
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise InvalidRecord("not_json", f"{type(exc).__name__}: {exc}"[:500]) from None
    if not isinstance(data, dict):
        raise InvalidRecord("not_an_object", f"the record is a JSON {type(data).__name__}, not an object")
    try:
        return Envelope.model_validate(data)
    except ValidationError as exc:
        raise InvalidRecord("invalid_envelope", describe(exc)) from None


def decode(raw: bytes, *, expected_task: str, max_bytes: int, registry: Mapping[str, TaskSpec] = REGISTRY) -> Record:
    """Parse, check and upcast one record, or raise InvalidRecord / NewerVersion."""
    env = parse_envelope(raw, max_bytes)
    return Record(envelope=env, args=decode_args(env, expected_task=expected_task, registry=registry))


def decode_args(env: Envelope, *, expected_task: str, registry: Mapping[str, TaskSpec] = REGISTRY) -> BaseModel:
    if env.task not in registry:
        raise InvalidRecord("unknown_task", f"no task named {env.task!r}")
    if env.task != expected_task:
        raise InvalidRecord("wrong_task", f"a {env.task!r} record on the topic of {expected_task!r}")
    return upcast(registry[env.task], env.version, env.args)


def upcast(spec: TaskSpec, version: int, args: dict[str, Any]) -> BaseModel:
    if version > spec.newest:
        raise NewerVersion(version, spec.newest)
    if version not in spec.versions:
        raise InvalidRecord("unsupported_version", f"{spec.name} has no version {version}")
    try:
        model = spec.versions[version].model_validate(args)
    except ValidationError as exc:
        raise InvalidRecord("invalid_args", describe(exc)) from None
    for v in range(version, spec.newest):
        # Each step sees the previous version's validated data, defaults filled in, whatever
        # version the record started at.
        try:
            model = spec.versions[v + 1].model_validate(spec.upcasters[v](model.model_dump(mode="json")))
        except ValidationError as exc:
            raise InvalidRecord("invalid_args", f"after upcasting to v{v + 1}: {describe(exc)}") from None
        except Exception as exc:
            raise InvalidRecord("invalid_args", f"upcasting v{v} to v{v + 1} failed: {exc!r}") from None
    return model


def encode(
    task: str,
    args: BaseModel,
    *,
    version: int,
    record_id: str | None = None,
    not_before: datetime | None = None,
    attempt: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> tuple[str, bytes]:
    """Build a record's bytes; returns (id, bytes)."""
    rid = record_id or str(uuid.uuid4())
    body: dict[str, Any] = {
        "task": task,
        "version": version,
        "id": rid,
        "created_at": _rfc3339(datetime.now(UTC)),
        "args": args.model_dump(mode="json"),
        **(extra or {}),
    }
    if not_before is not None:
        body["not_before"] = _rfc3339(not_before)
    if attempt:
        body["attempt"] = attempt
    return rid, json.dumps(body, separators=(",", ":")).encode()


def reattempt(
    raw: bytes, *, not_before: datetime, attempt: int | None = None, version_waits: int | None = None
) -> bytes:
    """The same record (same id, same args, unknown fields kept) marked for a later attempt:
    `not_before`, and the retry counter given (`attempt`, or `version_waits`)."""
    data = json.loads(raw)
    if attempt is not None:
        data["attempt"] = attempt
    if version_waits is not None:
        data["version_waits"] = version_waits
    data["not_before"] = _rfc3339(not_before)
    # ensure_ascii=False: escaping would grow non-ASCII text up to 6 bytes a character (past the
    # size limit a retry must stay within); the record arrived as UTF-8 JSON and stays so.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


_RETRY_FIELDS = frozenset({"attempt", "version_waits", "not_before"})  # what a worker adds to retry


def without_retry_state(raw: bytes) -> bytes:
    """The record as if never retried (no `attempt`, `version_waits` or `not_before`), for a
    redrive: it runs now with its whole retry budget. Bytes that are no JSON object (a dead
    letter for `not_json`, say) come back unchanged."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(data, dict) or not _RETRY_FIELDS & data.keys():
        return raw
    for field_name in _RETRY_FIELDS:
        data.pop(field_name, None)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
