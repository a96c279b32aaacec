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

from collections.abc import Iterator
from typing import Any

from stream_app.coverage.linecov import merge
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, SharedLines

_HIT, _MISS = PLAIN[1], PLAIN[0]


def matches(doc: object) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("meta"), dict) and isinstance(doc.get("files"), dict)


def _arcs(data: dict[str, Any]) -> dict[int, dict[str, bool]]:
    """Source line -> target -> taken (an arc both executed and missing counts as taken)."""
    arcs: dict[int, dict[str, bool]] = {}
    for source, target in data.get("executed_branches") or ():
        targets = arcs.get(line := int(source))
        if targets is None:
            targets = arcs[line] = {}
        targets[str(target)] = True
    for source, target in data.get("missing_branches") or ():
        targets = arcs.get(line := int(source))
        if targets is None:
            targets = arcs[line] = {}
        targets.setdefault(str(target), False)
    return arcs


def _file(path: str, data: dict[str, Any], shared: SharedLines) -> FileCoverage:
    lines = dict.fromkeys(map(int, data.get("executed_lines") or ()), _HIT)
    file = FileCoverage(path, lines)
    if missing_lines := data.get("missing_lines"):  # a line is never both executed and missing
        missing = dict.fromkeys(map(int, missing_lines), _MISS)
        missing.update(lines)  # executed wins...
        lines.update(missing)  # ...and the missing ones follow the executed ones, in their order
    get = lines.get
    for number, targets in _arcs(data).items():
        if number <= 0:
            continue  # as FileCoverage.add
        known = get(number)
        missing_arcs = tuple([target for target, taken in targets.items() if not taken])
        if known is None:
            lines[number] = shared.named(0, len(targets), missing_arcs)
        elif known.branches is None and not known.method:  # what merging the two gives
            lines[number] = shared.named(known.hits, len(targets), missing_arcs)
        else:
            lines[number] = merge(known, shared.named(known.hits, len(targets), missing_arcs))
    for name, function in (data.get("functions") or {}).items():
        start = function.get("start_line") if name and isinstance(function, dict) else None  # "": module code
        if isinstance(start, int) and start in lines:
            ran = bool((function.get("summary") or {}).get("covered_lines"))
            file.mark_method(start, int(ran))
    return file


def parse(doc: dict[str, Any]) -> Iterator[FileCoverage]:
    shared = SharedLines()
    for path, data in doc["files"].items():
        file = _file(str(path), data, shared)
        if file.lines:
            yield file
