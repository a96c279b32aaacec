"""SimpleCov `.resultset.json` (Ruby), one result per test suite.

    {"RSpec": {"timestamp": 1700000000, "coverage": {
        "/abs/lib/calc.rb": {"lines": [1, 0, null],
                             "branches": {"[:if, 0, 3, 4, 7, 7]": {"[:then, 1, 4, 6, 4, 15]": 0,
                                                                    "[:else, 2, 6, 6, 6, 20]": 1}}}}}}

Before SimpleCov 0.18 a file maps straight to its `lines` array. `lines[i]` is line i + 1
(null: not code, "ignored": skipped). A condition's branches count on the condition's own line
(third item of its key), named by their type and id. Several suites in one file are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import compress, repeat
from operator import is_, not_
from typing import Any, Final

from stream_app.coverage.linecov import hits, merge
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, SharedLines

_KEY: Final = re.compile(r"^\[:?(\w+),\s*(\d+),\s*(\d+)")


def matches(doc: object) -> bool:
    return (
        isinstance(doc, dict)
        and bool(doc)
        and all(isinstance(v, dict) and isinstance(v.get("coverage"), dict) for v in doc.values())
    )


def _arm_name(arm: str) -> str:
    m = _KEY.match(arm)
    return m[1] + ":" + m[2] if m else arm


def _branches(file: FileCoverage, branches: dict[str, Any], shared: SharedLines) -> None:
    lines, match, named = file.lines, _KEY.match, shared.named
    for condition, arms in branches.items():
        key = match(condition)
        if key is None or not isinstance(arms, dict) or not arms:
            continue
        line = int(key[3])
        if line <= 0:
            continue  # as FileCoverage.add
        values = arms.values()  # the arms with no count are missing
        missing = () if all(values) else tuple(map(_arm_name, compress(arms, map(not_, values))))
        known = lines.get(line)
        if known is None:
            coverage = named(int(len(missing) < len(arms)), len(arms), missing)
        else:
            coverage = named(known.hits, len(arms), missing)
        if known is None or (known.branches is None and not known.method):
            lines[line] = coverage  # what merging the two gives
        else:
            lines[line] = merge(known, coverage)


def _line_table(counts: list[Any]) -> dict[int, Any]:
    """Line number -> hits(count) for the int entries of `lines` (`lines[i]` is line i + 1), in C."""
    is_count = list(map(is_, map(type, counts), repeat(int)))  # not None, "ignored", floats or bools
    numbers, kept = compress(range(1, len(counts) + 1), is_count), list(compress(counts, is_count))
    small = not kept or (min(kept) >= 0 and max(kept) < len(PLAIN))
    return dict(zip(numbers, map(PLAIN.__getitem__, kept) if small else map(hits, kept), strict=True))


def _file(path: str, data: Any, shared: SharedLines) -> FileCoverage:
    file = FileCoverage(path)
    lines = data.get("lines") if isinstance(data, dict) else data
    if type(lines) is list:
        file.lines = _line_table(lines)
    else:
        file.lines.update((i, hits(count)) for i, count in enumerate(lines or (), 1) if type(count) is int)
    if isinstance(data, dict) and isinstance(data.get("branches"), dict):
        _branches(file, data["branches"], shared)
    return file


def parse(doc: dict[str, Any]) -> Iterator[FileCoverage]:
    shared = SharedLines()
    for suite in doc.values():
        for path, data in suite["coverage"].items():
            file = _file(str(path), data, shared)
            if file.lines:
                yield file
