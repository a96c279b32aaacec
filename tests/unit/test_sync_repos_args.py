"""SyncRepos' continuation fields: optional v1 args, strict, and bounded by the record size limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stream_app.errors import InvalidRecord
from stream_app.records import REGISTRY, decode, encode
from stream_app.services.repo_sync import carry_limit
from stream_app.settings import Settings
from stream_app.task_args import OwnerSyncV1, SyncReposV1

TASK = "app.tasks.sync_repos.SyncRepos"


def _record(args: dict[str, Any]) -> bytes:
    body = {"task": TASK, "version": 1, "id": "r1", "created_at": "2026-11-29T05:00:00Z", "args": args}
    return json.dumps(body).encode()


def test_a_producers_record_starts_at_the_first_page() -> None:
    args = decode(_record({"ownerid": 7, "username": "alice"}), expected_task=TASK, max_bytes=1 << 20).args

    assert args == SyncReposV1(ownerid=7, username="alice")
    assert (args.cursor, args.page, args.private_seen, args.listed_seen, args.exact) == (None, 1, [], [], True)


@pytest.mark.parametrize(
    "bad",
    [{"page": 0}, {"page": "2"}, {"cursor": ""}, {"cursor": 5}, {"private_seen": ["7"]}, {"exact": "yes"}],
)
def test_continuation_fields_are_strict(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidRecord) as caught:
        decode(_record({"ownerid": 7, **bad}), expected_task=TASK, max_bytes=1 << 20)

    assert caught.value.code == "invalid_args"


def test_a_worker_without_the_fields_reads_a_continuation_as_a_whole_sync() -> None:
    continuation = SyncReposV1(ownerid=7, cursor="/user/repos?page=3", page=3, private_seen=[1, 2])

    old = OwnerSyncV1.model_validate(continuation.model_dump(mode="json"))  # unknown args are ignored

    assert old == OwnerSyncV1(ownerid=7)


def test_the_largest_continuation_fits_in_a_record() -> None:
    settings = Settings()
    ids = list(range(9_000_000_000, 9_000_000_000 + carry_limit(settings)))  # 10-digit repoids
    cursor = "/user/repos?per_page=100&page=" + "9" * 1970  # the longest cursor allowed
    args = SyncReposV1(ownerid=2**31 - 1, username="u" * 255, cursor=cursor, page=10_000, listed_seen=ids)

    _, value = encode(TASK, args, version=REGISTRY[TASK].newest, extra={"trace_id": "t" * 64, "producer": "p" * 64})

    assert len(value) <= settings.max_record_bytes
    assert decode(value, expected_task=TASK, max_bytes=settings.max_record_bytes).args == args
