"""Where the upload pipeline keeps its own files in archive storage, and reading them back.

Everything lives under the repo's prefix (`repos/{repoid}/`), so FlushRepo and DeleteOwner
sweep it with the rest of the repo, and apart from the raw uploads (the web app's paths) and the
merged report (`commit_report_path`):

    repos/{repoid}/uploads/{commitid}/partials/{upload row id}.json   one parsed upload (partial report)
    repos/{repoid}/uploads/{commitid}/commit_yaml.json               the commit's codecov.yml, as read by Upload
    repos/{repoid}/uploads/{commitid}/repo_files.json                the repo's file list at the commit

The partial is keyed by the upload's row id, never by the producer's upload id (free text), and
the commit id is one quoted path segment (`path_segment`), so no argument can steer a write
outside its directory.

Raw uploads are the web app's files; a record names them by `storage_path`, relative to the
storage root (spec/contract.md section 5). `raw_upload_path` checks one before it is used: a path
that is absolute or has `..`, `.` or empty segments, a backslash or a control character is refused
with InvalidStoragePath, as storage refuses a path that leaves its root (`..` that stays inside
the root still reaches another repo's files). `raw_upload_repoid` reads the repo from a path in
the layout `v4/raw/[{YYYY-MM-DD}/]{repoid}/...`; FlushRepo and DeleteOwner
(services/coverage_data.py) never delete a raw upload that is another repo's by that layout or
by another repo's upload row, so an upload row can never make them delete another repo's files.
"""

from __future__ import annotations

import json
import re
from typing import Any

from stream_app.storage import ArchiveStorage, FileNotInStorage, InvalidStoragePath
from stream_app.storage.paths import path_segment, repo_prefix

_RAW_UPLOAD_OWNER = re.compile(r"v4/raw/(?:[0-9]{4}-[0-9]{2}-[0-9]{2}/)?([1-9][0-9]*)/.")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_plain_key(path: str) -> bool:
    """A relative key of '/'-separated segments, none empty, '.' or '..', with no backslash or
    control character: one that names the same file on every storage."""
    segments = path.split("/")
    return "\\" not in path and not _CONTROL.search(path) and not any(s in ("", ".", "..") for s in segments)


def raw_upload_path(path: str) -> str:
    """`path` when it is a plain relative key ('/'-separated segments, none empty, '.' or '..',
    no backslash or control character); raises InvalidStoragePath otherwise (as storage does for
    a path leaving its root: `..` inside the root still reaches another repo's files)."""
    if not is_plain_key(path):
        raise InvalidStoragePath(f"invalid storage path {path[:200]!r}")
    return path


def raw_upload_repoid(path: str) -> int | None:
    """The repo a raw upload belongs to by the web app's layout, `v4/raw/[{date}/]{repoid}/...`;
    None for a path outside that layout or one `raw_upload_path` refuses."""
    match = _RAW_UPLOAD_OWNER.match(path)
    return int(match.group(1)) if match and is_plain_key(path) else None


def commit_uploads_prefix(repoid: int, commitid: str) -> str:
    return f"{repo_prefix(repoid)}uploads/{path_segment(commitid)}/"


def partial_path(repoid: int, commitid: str, upload_pk: int) -> str:
    return f"{commit_uploads_prefix(repoid, commitid)}partials/{upload_pk}.json"


def commit_yaml_path(repoid: int, commitid: str) -> str:
    return f"{commit_uploads_prefix(repoid, commitid)}commit_yaml.json"


def repo_files_path(repoid: int, commitid: str) -> str:
    return f"{commit_uploads_prefix(repoid, commitid)}repo_files.json"


async def read_json(storage: ArchiveStorage, path: str) -> Any | None:
    """The JSON document at `path`, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(await storage.read(path))
    except (FileNotInStorage, ValueError):
        return None


async def write_json(storage: ArchiveStorage, path: str, value: Any) -> None:
    await storage.write(path, json.dumps(value, separators=(",", ":")).encode())
