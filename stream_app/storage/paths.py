"""Where things live in archive storage, derived from the repo and commit.

Text that comes from a record or a row (a commit id) becomes exactly one path segment
(`path_segment`), so no value, however crafted, can climb out of its repo's prefix: storage
itself only keeps paths inside the storage root, not inside a repo.
"""

from __future__ import annotations

from urllib.parse import quote


def path_segment(value: str) -> str:
    """`value` as one path segment: percent-quoted with '/' and '\\' escaped, and the dot
    segments '.' and '..' (which quoting keeps) spelled with %2E, so the segment never means
    "this" or "parent" directory. Distinct values stay distinct. An empty value is refused."""
    if not value:
        raise ValueError("an empty value cannot be a path segment")
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def repo_prefix(repoid: int) -> str:
    return f"repos/{repoid}/"


def commit_report_path(repoid: int, commitid: str) -> str:
    return f"{repo_prefix(repoid)}reports/{path_segment(commitid)}/report.json"
