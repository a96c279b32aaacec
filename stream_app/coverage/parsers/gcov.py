"""gcov text output (`gcov -b`, one `.gcov` file per source file).

            -:    0:Source:calc.c
    function sign called 4 returned 100% blocks executed 100%
            4:    3:static int sign(int x) {
            4:    4:    if (x > 0)
    branch  0 taken 50% (fallthrough)
    branch  1 never executed
        #####:   12:    return x * 2;
           1*:   19:    if (argc > 5 && total > 0)

`-` is not code, `#####`/`=====` is zero, a trailing `*` marks unexecuted blocks. Branches
belong to the source line above them and are named by their position on that line; a branch
counts as covered when taken (percent or count above zero). "function ... called N" flags the
next source line as a method line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Final

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import FileCoverage

_SOURCE_LINE: Final = re.compile(r"^\s*([^:\s]+):\s*(\d+):(.*)$")
_BRANCH: Final = re.compile(r"^branch\s+\d+\s+(?:taken\s+(\d+)|never executed)")
_FUNCTION: Final = re.compile(r"^function\s+\S+\s+called\s+(\d+)")
_SUFFIX: Final = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _count(field: str) -> int | None:
    """Hits from the count column; None for `-` (not code)."""
    field = field.rstrip("*")
    if field == "-":
        return None
    if field.isdigit():
        return int(field)
    if field[:-1].replace(".", "", 1).isdigit() and field[-1] in _SUFFIX:  # gcov -H: "1.2k"
        return int(float(field[:-1]) * _SUFFIX[field[-1]])
    return 0  # ##### and =====


class _GcovFile:
    def __init__(self) -> None:
        self.file = FileCoverage("")
        self.line: int | None = None
        self.branches: list[bool] = []
        self.function_hits: int | None = None

    def flush_branches(self) -> None:
        if self.line is not None and self.branches:
            known = self.file.lines.get(self.line)
            count = known.hits if known is not None else 0
            missing = tuple(str(i) for i, taken in enumerate(self.branches) if not taken)
            self.file.lines[self.line] = Coverage(count, Branches.from_missing(len(self.branches), missing))
        self.branches = []

    def source_line(self, count_field: str, number: int, text: str) -> None:
        self.flush_branches()
        if number == 0:
            if text.startswith("Source:"):
                self.file.path = text[len("Source:") :].strip()
            self.line = None
            return
        count = _count(count_field)
        self.line = None if count is None else number
        if count is not None:
            self.file.add(number, hits(count))
            if self.function_hits is not None:
                self.file.mark_method(number, self.function_hits)
        self.function_hits = None


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    state = _GcovFile()
    for raw in stream:
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if (branch := _BRANCH.match(text)) is not None:
            if state.line is not None:
                state.branches.append(branch.group(1) is not None and int(branch.group(1)) > 0)
        elif (function := _FUNCTION.match(text)) is not None:
            state.function_hits = int(function.group(1))
        elif (source := _SOURCE_LINE.match(text)) is not None:
            state.source_line(source.group(1), int(source.group(2)), source.group(3))
    state.flush_branches()
    if state.file.path and state.file.lines:
        yield state.file
