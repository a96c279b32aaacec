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


def _targets(arcs: Any) -> dict[int, list[str]]:
    """Source line -> the targets of its arcs, in order (repeats kept)."""
    targets: dict[int, list[str]] = {}
    get = targets.get
    for source, target in arcs or ():
        known = get(line := int(source))
        if known is None:
            targets[line] = [str(target)]
        else:
            known.append(str(target))
    return targets


def _arcs(data: dict[str, Any]) -> dict[int, tuple[int, tuple[str, ...]]]:
    """Source line -> (its arcs, the targets not taken); an arc both executed and missing counts
    as taken, a target named twice once. Most lines have only taken arcs or only missed ones."""
    taken, not_taken = _targets(data.get("executed_branches")), _targets(data.get("missing_branches"))
    arcs: dict[int, tuple[int, tuple[str, ...]]] = {
        line: (len(targets) if len(targets) == 1 else len(set(targets)), ()) for line, targets in taken.items()
    }
    for line, missed in not_taken.items():
        ran = taken.get(line)
        if ran is not None:
            missed = [target for target in missed if target not in ran]
        missing = tuple(dict.fromkeys(missed))
        arcs[line] = (arcs[line][0] + len(missing), missing) if ran is not None else (len(missing), missing)
    return arcs


def _file(path: str, data: dict[str, Any], shared: SharedLines) -> FileCoverage:
    # a line is never both executed and missing; if it were, executed wins
    lines = dict.fromkeys(map(int, data.get("missing_lines") or ()), _MISS)
    lines.update(dict.fromkeys(map(int, data.get("executed_lines") or ()), _HIT))
    file = FileCoverage(path, lines)
    get, named = lines.get, shared.named
    for number, (total, missing) in _arcs(data).items():
        if number <= 0:
            continue  # as FileCoverage.add
        known = get(number)
        if known is None:
            lines[number] = named(0, total, missing)
        elif known.branches is None and not known.method:  # what merging the two gives
            lines[number] = named(known.hits, total, missing)
        else:
            lines[number] = merge(known, named(known.hits, total, missing))
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
