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
from typing import Any, Final

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import FileCoverage

_KEY: Final = re.compile(r"^\[:?(\w+),\s*(\d+),\s*(\d+)")


def matches(doc: object) -> bool:
    return (
        isinstance(doc, dict)
        and bool(doc)
        and all(isinstance(v, dict) and isinstance(v.get("coverage"), dict) for v in doc.values())
    )


def _branches(file: FileCoverage, branches: dict[str, Any]) -> None:
    for condition, arms in branches.items():
        key = _KEY.match(condition)
        if key is None or not isinstance(arms, dict) or not arms:
            continue
        line = int(key.group(3))
        names = {arm: (m.group(1) + ":" + m.group(2)) if (m := _KEY.match(arm)) else arm for arm in arms}
        missing = tuple(names[arm] for arm, count in arms.items() if not count)
        known = file.lines.get(line)
        count = known.hits if known is not None else int(len(missing) < len(arms))
        file.add(line, Coverage(count, Branches.from_missing(len(arms), missing)))


def _file(path: str, data: Any) -> FileCoverage:
    file = FileCoverage(path)
    lines = data.get("lines") if isinstance(data, dict) else data
    file.lines.update((i, hits(count)) for i, count in enumerate(lines or (), 1) if type(count) is int)
    if isinstance(data, dict) and isinstance(data.get("branches"), dict):
        _branches(file, data["branches"])
    return file


def parse(doc: dict[str, Any]) -> Iterator[FileCoverage]:
    for suite in doc.values():
        for path, data in suite["coverage"].items():
            file = _file(str(path), data)
            if file.lines:
                yield file
