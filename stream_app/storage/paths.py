"""Where things live in archive storage, derived from the repo and commit."""

from __future__ import annotations


def repo_prefix(repoid: int) -> str:
    return f"repos/{repoid}/"


def commit_report_path(repoid: int, commitid: str) -> str:
    return f"repos/{repoid}/reports/{commitid}/report.json"
