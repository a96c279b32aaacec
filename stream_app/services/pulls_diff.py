"""A pull's diff (patch) coverage: the head report's coverage of the lines the pull adds.

For each changed file, the added or changed head lines that the report covers are counted as
hits, misses and partials (the same rules as the report's totals), with the coverage percent
string of `stream_app.coverage.percent`. Lines the report does not track (blank lines,
comments, files without coverage) are not counted. Without a head report in storage there is
nothing to measure: the diff is None (stored as SQL NULL), not zero.

    {"base": sha, "head": sha,
     "files": {"src/app.py": {"lines": 2, "hits": 1, "misses": 1, "partials": 0, "coverage": "50.00000"}},
     "totals": {"files": 1, "lines": 2, "hits": 1, "misses": 1, "partials": 0, "coverage": "50.00000"}}
"""

from __future__ import annotations

import logging
from typing import Any

from stream_app.coverage import Report, load_report, percent
from stream_app.coverage.totals import LineCounts
from stream_app.providers import ProviderNotFound
from stream_app.providers.types import Comparison, PullInfo
from stream_app.services.repo_provider import RepoOnProvider
from stream_app.storage import ArchiveStorage, FileNotInStorage
from stream_app.storage.paths import commit_report_path

log = logging.getLogger(__name__)


async def head_report(storage: ArchiveStorage, repoid: int, commitid: str) -> Report | None:
    """The commit's report from archive storage; None when it is not there (or unreadable)."""
    try:
        data = await storage.read(commit_report_path(repoid, commitid))
    except FileNotInStorage:
        return None
    try:
        return load_report(data)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("report of %s@%s is unreadable (%s): no diff coverage", repoid, commitid, type(exc).__name__)
        return None


async def pull_diff(storage: ArchiveStorage, opened: RepoOnProvider, pull: PullInfo) -> dict[str, Any] | None:
    """The pull's diff coverage (compare base...head on the provider), or None without a head report."""
    report = await head_report(storage, opened.repo.repoid, pull.head_sha)
    if report is None:
        return None
    try:
        comparison = await opened.provider.compare(opened.ref, pull.base_sha, pull.head_sha)
    except ProviderNotFound:  # a base or head no longer on the provider (force-pushed away)
        return None
    return diff_coverage(report, comparison)


def diff_coverage(report: Report, comparison: Comparison) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {}
    total = LineCounts()
    for changed in comparison.files:
        report_file = report.files.get(changed.path)
        if changed.change == "removed" or report_file is None:
            continue
        lines = report_file.lines
        counts = LineCounts.of(lines[n].coverage for n in changed.added if n in lines)
        if counts.lines:
            files[changed.path] = _counts(counts)
            total.extend(counts)
    return {
        "base": comparison.base,
        "head": comparison.head,
        "files": files,
        "totals": {"files": len(files), **_counts(total)},
    }


def _counts(counts: LineCounts) -> dict[str, Any]:
    return {
        "lines": counts.lines,
        "hits": counts.hits,
        "misses": counts.misses,
        "partials": counts.partials,
        "coverage": percent(counts.hits, counts.lines) if counts.lines else None,
    }
