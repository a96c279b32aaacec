"""SimpleCov `.resultset.json` (Ruby), one result per test suite.

    {"RSpec": {"timestamp": 1700000000, "coverage": {
        "/abs/lib/calc.rb": {"lines": [1, 0, null],
                             "branches": {"[:if, 0, 3, 4, 7, 7]": {"[:then, 1, 4, 6, 4, 15]": 0,
                                                                    "[:else, 2, 6, 6, 6, 20]": 1}}}}}}

Before SimpleCov 0.18 a file maps straight to its `lines` array. `lines[i]` is line i + 1
(null: not code, "ignored": skipped). A condition's branches count on the condition's own line
(third item of its key), named by their type and id. Several suites in one file are merged.

Speed: where the C scanner was built (`native`), a file whose counts fit a LineTable's arrays
and whose conditions are the usual ones (a key _KEY reads, one per line, every arm counted) goes
straight into a LineTable, with no object per line. `_file` (a dict, line by line) is the
reference, and reads every other file. (Without C, 3 million lines take 0.7 s more than the
0.45 s json.loads needs; the lines alone cost about 0.3 s in C-level itertools and arrays.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import compress, repeat
from operator import is_, not_
from typing import Any, Final

from stream_app.coverage.linecov import Coverage, hits, merge
from stream_app.coverage.linetable import LineTable
from stream_app.coverage.parsers import native
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, FileTable, ParsedFile, SharedLines

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


def _branch_lines(
    branches: dict[str, Any], known: Callable[[int], Coverage | None], shared: SharedLines
) -> dict[int, Coverage]:
    """The lines of the conditions, merged with what `known` says of their line (the `lines` entry)."""
    lines: dict[int, Coverage] = {}
    match, named = _KEY.match, shared.named
    for condition, arms in branches.items():
        key = match(condition)
        if key is None or not isinstance(arms, dict) or not arms:
            continue
        line = int(key[3])
        if line <= 0:
            continue  # as FileCoverage.add
        values = arms.values()  # the arms with no count are missing
        missing = () if all(values) else tuple(map(_arm_name, compress(arms, map(not_, values))))
        before = lines.get(line)
        before = known(line) if before is None else before
        if before is None:
            coverage = named(int(len(missing) < len(arms)), len(arms), missing)
        else:
            coverage = named(before.hits, len(arms), missing)
        if before is None or (before.branches is None and not before.method):
            lines[line] = coverage  # what merging the two gives
        else:
            lines[line] = merge(before, coverage)
    return lines


def _line_table(counts: list[Any]) -> dict[int, Any]:
    """Line number -> hits(count) for the int entries of `lines` (`lines[i]` is line i + 1), in C."""
    is_count = list(map(is_, map(type, counts), repeat(int)))  # not None, "ignored", floats or bools
    numbers, kept = compress(range(1, len(counts) + 1), is_count), list(compress(counts, is_count))
    small = not kept or (min(kept) >= 0 and max(kept) < len(PLAIN))
    return dict(zip(numbers, map(PLAIN.__getitem__, kept) if small else map(hits, kept), strict=True))


def _file(path: str, data: Any, shared: SharedLines) -> FileCoverage:
    """The reference reading of one file, line by line into a dict."""
    file = FileCoverage(path)
    lines = data.get("lines") if isinstance(data, dict) else data
    if type(lines) is list:
        file.lines = _line_table(lines)
    else:
        file.lines.update((i, hits(count)) for i, count in enumerate(lines or (), 1) if type(count) is int)
    if isinstance(data, dict) and isinstance(data.get("branches"), dict):
        file.lines.update(_branch_lines(data["branches"], file.lines.get, shared))
    return file


def _table_file(path: str, data: Any) -> FileTable | None:
    """_file() by the C scanner, straight into a LineTable; None when it is not built or leaves
    the file to _file() (a count below 0 or of 2**32 or more, a condition not the usual one)."""
    scanner = native.scanner
    counts = data.get("lines") if isinstance(data, dict) else data
    if scanner is None or type(counts) is not list:
        return None
    branches = data.get("branches") if isinstance(data, dict) else None
    table = scanner.simplecov_file(counts, branches if isinstance(branches, dict) else None)
    return None if table is None else FileTable(path, LineTable.from_arrays(*table))


def parse(doc: dict[str, Any]) -> Iterator[ParsedFile]:
    shared = SharedLines()
    for suite in doc.values():
        for path, data in suite["coverage"].items():
            file = _table_file(str(path), data) or _file(str(path), data, shared)
            if len(file.lines):
                yield file
