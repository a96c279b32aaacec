"""Go coverprofiles (`go test -coverprofile`, any -covermode).

    mode: count
    example.com/mathx/mathx.go:4.21,5.11 1 2      <file>:<line.col>,<line.col> <statements> <count>

A block covers its start line, the lines in between, and its end line unless it ends at
column 1 or 2 (a lone closing brace), as Codecov does. A line spanned by one block takes its
count. A line spanned by several blocks records them as branches named by block start
(covered blocks / blocks), so a line where only some statements ran is partial and sessions
merge exactly. A file's blocks are flushed when the profile moves to another file; go writes
each file's blocks together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Final

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import FileCoverage

_BLOCK: Final = re.compile(rb"^(.+):(\d+)\.(\d+),(\d+)\.(\d+)\s+\d+\s+(\d+)\s*$")


def _lines_of(start: int, end: int, end_column: int) -> range:
    if start == end:
        return range(start, start + 1)
    return range(start, end + 1 if end_column > 2 else end)


def _file(path: str, blocks: dict[int, dict[str, int]]) -> FileCoverage:
    file = FileCoverage(path)
    for number, counts in blocks.items():
        if len(counts) == 1:
            file.add(number, hits(next(iter(counts.values()))))
            continue
        missing = tuple(block for block, count in counts.items() if count == 0)
        file.add(number, Coverage(max(counts.values()), Branches.from_missing(len(counts), missing)))
    return file


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    path: bytes | None = None
    blocks: dict[int, dict[str, int]] = {}
    for raw in stream:
        match = _BLOCK.match(raw.rstrip(b"\r\n"))
        if match is None:
            continue  # "mode: ..." and blank lines
        name, start, start_col, end, end_col, count = match.groups()
        if name != path:
            if path is not None and blocks:
                yield _file(path.decode("utf-8", errors="replace"), blocks)
            path, blocks = name, {}
        block = f"{int(start)}.{int(start_col)}"
        for number in _lines_of(int(start), int(end), int(end_col)):
            line = blocks.setdefault(number, {})
            line[block] = max(line.get(block, 0), int(count))
    if path is not None and blocks:
        yield _file(path.decode("utf-8", errors="replace"), blocks)
