"""coverage.py's `coverage json` (format 2 and 3).

    {"meta": {"format": 3, ...}, "files": {"pkg/mod.py": {
        "executed_lines": [4, 5], "missing_lines": [6],
        "executed_branches": [[5, 7]], "missing_branches": [[5, 6]],
        "functions": {"f": {"start_line": 4, ...}}}}, "totals": {...}}

Executed lines are hits (coverage.py keeps no counts), missing lines misses. A line's branches
are the arcs leaving it, named by their target line; a function's `start_line` (coverage.py
7.9+) is flagged as a method line (not the "" entry, the module's own code).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import FileCoverage


def matches(doc: object) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("meta"), dict) and isinstance(doc.get("files"), dict)


def _arcs(data: dict[str, Any]) -> dict[int, dict[str, bool]]:
    arcs: defaultdict[int, dict[str, bool]] = defaultdict(dict)
    for key, taken in (("executed_branches", True), ("missing_branches", False)):
        for source, target in data.get(key) or ():
            arcs[int(source)][str(target)] = taken or arcs[int(source)].get(str(target), False)
    return arcs


def _file(path: str, data: dict[str, Any]) -> FileCoverage:
    file = FileCoverage(path, dict.fromkeys(map(int, data.get("executed_lines") or ()), hits(1)))
    for number in map(int, data.get("missing_lines") or ()):
        file.lines.setdefault(number, hits(0))  # a line is never both executed and missing
    for number, targets in _arcs(data).items():
        known = file.lines.get(number)
        missing = tuple(target for target, taken in targets.items() if not taken)
        file.add(number, Coverage(known.hits if known else 0, Branches.from_missing(len(targets), missing)))
    for name, function in (data.get("functions") or {}).items():
        start = function.get("start_line") if name and isinstance(function, dict) else None  # "": module code
        if isinstance(start, int) and start in file.lines:
            ran = bool((function.get("summary") or {}).get("covered_lines"))
            file.mark_method(start, int(ran))
    return file


def parse(doc: dict[str, Any]) -> Iterator[FileCoverage]:
    for path, data in doc["files"].items():
        file = _file(str(path), data)
        if file.lines:
            yield file
