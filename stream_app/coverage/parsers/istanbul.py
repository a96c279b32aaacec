"""Istanbul / nyc `coverage-final.json` (also c8, jest, vitest with the json reporter).

    {"/abs/src/a.js": {"path": "...", "statementMap": {"0": {"start": {"line": 4}, ...}},
      "s": {"0": 2}, "fnMap": {"0": {"loc": {"start": {"line": 3}}, ...}}, "f": {"0": 2},
      "branchMap": {"0": {"line": 4, "locations": [...]}}, "b": {"0": [1, 0]}}}

A line's hits are the highest count of the statements starting on it (Istanbul's own line
coverage). Each branch location counts on its branch's line, named `branch:location`. A
function's start line is a method line (added when no statement starts there, as Codecov does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stream_app.coverage.linecov import Branches, Coverage, hits, merge
from stream_app.coverage.parsers.base import PLAIN, FileCoverage


def _data(value: object) -> dict[str, Any] | None:
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        value = value["data"]
    return value if isinstance(value, dict) and "statementMap" in value else None


def matches(doc: object) -> bool:
    return isinstance(doc, dict) and bool(doc) and all(_data(v) is not None for v in doc.values())


def _start_line(node: dict[str, Any]) -> int | None:
    loc = node.get("loc", node)
    line = (loc.get("start") or {}).get("line") if isinstance(loc, dict) else None
    return line if isinstance(line, int) and line > 0 else None


def _branches(file: FileCoverage, data: dict[str, Any]) -> None:
    per_line: dict[int, dict[str, bool]] = {}
    for key, branch in (data.get("branchMap") or {}).items():
        line = branch.get("line") if isinstance(branch.get("line"), int) else _start_line(branch)
        if line is None or branch.get("skip") is True:
            continue
        for i, count in enumerate(data.get("b", {}).get(key) or ()):
            per_line.setdefault(line, {})[f"{key}:{i}"] = int(count) > 0
    for line, taken in per_line.items():
        known = file.lines.get(line)
        count = known.hits if known is not None else int(any(taken.values()))
        missing = tuple(name for name, ran in taken.items() if not ran)
        file.add(line, Coverage(count, Branches.from_missing(len(taken), missing)))


def _file(path: str, data: dict[str, Any]) -> FileCoverage:
    file = FileCoverage(str(data.get("path") or path))
    counts, lines = data.get("s") or {}, file.lines
    for key, statement in (data.get("statementMap") or {}).items():
        loc = statement.get("loc", statement)  # _start_line(), inlined: most of a report is statements
        line = (loc.get("start") or {}).get("line") if isinstance(loc, dict) else None
        if isinstance(line, int) and line > 0 and statement.get("skip") is not True:
            count = int(counts.get(key, 0))
            coverage = PLAIN[count] if 0 <= count < 256 else hits(count)
            known = lines.setdefault(line, coverage)  # as FileCoverage.add (line > 0)
            if known is not coverage:
                lines[line] = merge(known, coverage)
    _branches(file, data)
    calls = data.get("f") or {}
    for key, function in (data.get("fnMap") or {}).items():
        line = _start_line(function)
        if line is not None and function.get("skip") is not True:
            file.mark_method(line, int(calls.get(key, 0)))
    return file


def parse(doc: dict[str, Any]) -> Iterator[FileCoverage]:
    for path, value in doc.items():
        data = _data(value)
        if data is not None:
            file = _file(str(path), data)
            if file.lines:
                yield file
