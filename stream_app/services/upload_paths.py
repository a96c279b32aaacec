"""Where the upload pipeline keeps its own files in archive storage, and reading them back.

Everything lives under the repo's prefix (`repos/{repoid}/`), so FlushRepo and DeleteOwner
sweep it with the rest of the repo, and apart from the raw uploads (the web app's paths) and the
merged report (`commit_report_path`):

    repos/{repoid}/uploads/{commitid}/partials/{upload row id}.json   one parsed upload (partial report)
    repos/{repoid}/uploads/{commitid}/commit_yaml.json               the commit's codecov.yml, as read by Upload
    repos/{repoid}/uploads/{commitid}/repo_files.json                the repo's file list at the commit

The partial is keyed by the upload's row id, never by the producer's upload id (free text), and
the commit id is quoted, so no argument can steer a write outside its directory.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from stream_app.storage import ArchiveStorage, FileNotInStorage
from stream_app.storage.paths import repo_prefix


def commit_uploads_prefix(repoid: int, commitid: str) -> str:
    return f"{repo_prefix(repoid)}uploads/{quote(commitid, safe='')}/"


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
