"""Record text in paths: commit ids are SHAs, and whatever a record or row holds stays one segment.

A commit id, storage path or provider id is text from a record or a row. It must never add or
climb path segments, in archive storage (which only keeps paths inside its root, not inside a
repo) or in a provider URL (httpx resolves `..`; the token then reaches another endpoint).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from stream_app.errors import InvalidRecord
from stream_app.providers.errors import ProviderNotFound
from stream_app.providers.http import url_path, url_segment
from stream_app.records import REGISTRY, decode
from stream_app.schema import record_schema
from stream_app.services.upload_paths import (
    commit_uploads_prefix,
    partial_path,
    raw_upload_path,
    raw_upload_repoid,
)
from stream_app.storage import InvalidStoragePath
from stream_app.storage.paths import commit_report_path, path_segment
from stream_app.task_args import NotifyV1, UploadFinisherV1

SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
HOSTILE = [
    f"../../1/reports/{SHA}",
    "..",
    ".",
    "../..",
    "a/b",
    "..\\..\\1",
    "%2e%2e",
    f"{SHA}/../../../1/reports/{SHA}",
    "/repos/1/reports",
]
COMMIT_TASKS = sorted(
    task for task, spec in REGISTRY.items() if "commitid" in spec.versions[max(spec.versions)].model_fields
)


def record(task: str, args: dict[str, Any]) -> bytes:
    body = {"task": task, "version": 1, "id": "r1", "created_at": "2026-11-29T05:00:00Z", "args": args}
    return json.dumps(body).encode()


# --- commit ids are SHAs ---------------------------------------------------------------------


@pytest.mark.parametrize("sha", [SHA, SHA.upper(), "0a1b2c3", "f" * 64, SHA[:12]])
def test_a_hex_sha_of_7_to_64_digits_is_a_commit_id(sha: str) -> None:
    assert NotifyV1(repoid=7, commitid=sha).commitid == sha


@pytest.mark.parametrize("commitid", [*HOSTILE, "c1", "0a1b2c", "f" * 65, f"{SHA}\n", f" {SHA}", "g" * 40, ""])
def test_anything_else_is_not_a_commit_id(commitid: str) -> None:
    with pytest.raises(ValidationError):
        UploadFinisherV1(repoid=7, commitid=commitid)


@pytest.mark.parametrize("task", COMMIT_TASKS)
def test_a_record_whose_commitid_climbs_paths_is_an_invalid_record(task: str) -> None:
    # Given the golden-sample shape of every task with a commit id, with a traversal commit id
    spec = REGISTRY[task]
    model = spec.versions[1]
    args = {"repoid": 2, "pullid": 1, "upload_id": "u1", "uploads": [], "on_a_pull_request": False}
    args = {k: v for k, v in args.items() if k in model.model_fields} | {"commitid": f"../../1/reports/{SHA}"}

    # When it is decoded
    with pytest.raises(InvalidRecord) as caught:
        decode(record(task, args), expected_task=task, max_bytes=1_048_576)

    # Then it is dead-lettered as invalid args, naming the field
    assert caught.value.code == "invalid_args"
    assert caught.value.detail.startswith("commitid:")


def test_the_schema_tells_producers_a_commit_id_is_a_hex_sha() -> None:
    args = record_schema("app.tasks.upload.Upload", 1)["$defs"]["Args"]

    assert args["properties"]["commitid"]["pattern"] == "^[0-9a-fA-F]{7,64}$"


# --- storage paths: one segment per value ----------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_becomes_exactly_one_path_segment(value: str) -> None:
    segment = path_segment(value)

    assert "/" not in segment and "\\" not in segment
    assert segment not in (".", "..")


def test_a_sha_is_its_own_segment_and_distinct_values_stay_distinct() -> None:
    assert path_segment(SHA) == SHA
    values = [*HOSTILE, "%2E", "%2E%2E", "%2e", ".", ".."]
    assert len({path_segment(v) for v in values}) == len(set(values))


def test_an_empty_value_is_no_segment() -> None:
    with pytest.raises(ValueError, match="empty"):
        path_segment("")


@pytest.mark.parametrize("commitid", HOSTILE)
def test_every_derived_path_stays_under_its_repo_and_commit(commitid: str) -> None:
    # normpath resolves `..` the way local storage does (and S3 keys are taken as given)
    report = posixpath.normpath(commit_report_path(2, commitid))
    partial = posixpath.normpath(partial_path(2, commitid, 5))

    assert report.startswith("repos/2/reports/") and report.endswith("/report.json")
    assert report.count("/") == 4
    assert partial.startswith(commit_uploads_prefix(2, commitid)) and partial.count("/") == 5


# --- raw uploads: the web app's storage paths ------------------------------------------------


@pytest.mark.parametrize(
    "path", ["v4/raw/7/u1.txt", "v4/raw/2026-11-29/7/0a1b2c3d/3c9e6f7a.txt", "elsewhere/u1.txt", "a b/ü.txt"]
)
def test_a_plain_relative_key_is_a_raw_upload_path(path: str) -> None:
    assert raw_upload_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "/v4/raw/7/u1.txt",
        "v4/raw/7/../../8/u1.txt",
        "v4/raw/7/..",
        "v4/raw/./7/u1.txt",
        "v4//raw/7/u1.txt",
        "v4/raw/7/",
        "v4\\raw\\7\\u1.txt",
        "v4/raw/7/u1.txt\x00",
        "",
    ],
)
def test_an_absolute_climbing_or_odd_path_is_refused(path: str) -> None:
    with pytest.raises(InvalidStoragePath):
        raw_upload_path(path)
    assert raw_upload_repoid(path) is None


@pytest.mark.parametrize(
    ("path", "repoid"),
    [
        ("v4/raw/7/u1.txt", 7),
        ("v4/raw/2026-11-29/7/0a1b2c3d/3c9e6f7a.txt", 7),
        ("v4/raw/2026-11-29/8/7/u1.txt", 8),
        ("v4/raw/70/u1.txt", 70),
        ("v4/raw/07/u1.txt", None),
        ("v4/raw/7", None),
        ("v4/raw/\u0667/u1.txt", None),  # an Arabic-Indic 7 is not repo 7
        ("v4/raw/7/../8/u1.txt", None),
        ("repos/7/reports/x/report.json", None),
        ("x/v4/raw/7/u1.txt", None),
        ("elsewhere/7/u1.txt", None),
    ],
)
def test_a_raw_upload_belongs_to_the_repo_its_path_names(path: str, repoid: int | None) -> None:
    assert raw_upload_repoid(path) == repoid


# --- provider URLs ---------------------------------------------------------------------------

API = "https://api.github.com"


@pytest.mark.parametrize("value", [v for v in HOSTILE if v not in (".", "..")] + [f"{SHA}?x=1#y", "a;b"])
def test_a_url_segment_stays_on_its_endpoint(value: str) -> None:
    url = httpx.URL(f"{API}/repos/acme/widgets/statuses/{url_segment(value)}")

    assert url.path.startswith("/repos/acme/widgets/statuses/")
    assert url.raw_path.count(b"/") == 5
    assert url.query == b""


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_a_dot_or_empty_segment_names_nothing_on_the_provider(value: str) -> None:
    with pytest.raises(ProviderNotFound):
        url_segment(value)


def test_a_repo_file_path_keeps_its_directories_but_cannot_climb() -> None:
    assert url_path(".github/codecov.yml") == ".github/codecov.yml"
    assert url_path("dir with space/a#b.yml") == "dir%20with%20space/a%23b.yml"
    with pytest.raises(ProviderNotFound):
        url_path("../../../../user")
