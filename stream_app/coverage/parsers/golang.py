"""Go coverprofiles (`go test -coverprofile`, any -covermode).

    mode: count
    example.com/mathx/mathx.go:4.21,5.11 1 2      <file>:<line.col>,<line.col> <statements> <count>

A block covers its start line, the lines in between, and its end line unless it ends at
column 1 or 2 (a lone closing brace), as Codecov does. A line spanned by one block takes its
count. A line spanned by several blocks records them as branches named by block start
(covered blocks / blocks), so a line where only some statements ran is partial and sessions
merge exactly. A file's blocks are flushed when the profile moves to another file; go writes
each file's blocks together.

Speed: blocks are matched by one regex over a chunk of whole lines (`findall` in C), a file's
block numbers are converted in one C call, and a file whose blocks do not overlap (the usual
profile) has its line table built by C iterators; overlapping blocks take the reference path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import chain, groupby, repeat
from operator import itemgetter
from typing import IO, Final

from stream_app.coverage.errors import ReportError
from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, text_chunks

# A block line, as `^(.+):(\d+)\.(\d+),(\d+)\.(\d+)\s+\d+\s+(\d+)\s*$` reads the line without its
# line end: the same, with [^\S\n] for \s so that no match runs into the next line. Groups: the
# path, and the numbers `<line.col>,<line.col> <statements> <count>`.
_BLANK: Final = rb"[^\S\n]"
_BLOCK: Final = re.compile(
    rb"^(.+):(\d+\.\d+,\d+\.\d+" + _BLANK + rb"+\d+" + _BLANK + rb"+\d+)" + _BLANK + rb"*$", re.MULTILINE
)
_TO_COMMAS: Final = bytes.maketrans(b". \t\r\x0b\x0c", b",,,,,,")
_DIGITS: Final = re.compile(rb"[0-9]+")
_FIELDS: Final = 6  # start line, start column, end line, end column, statements, count


def _numbers(blocks: list[bytes]) -> list[int]:
    """The numbers of the blocks in order, converted in C: 6 a block."""
    joined = b",".join(blocks).translate(_TO_COMMAS)
    try:
        return json.loads(b"[" + joined + b"]")  # type: ignore[no-any-return]
    except ValueError:  # a leading zero, or a run of blanks
        return [int(n) for n in _DIGITS.findall(joined)]


# No Go block spans this many lines; a profile that says so would expand into one entry per
# line and exhaust memory, so it is refused as corrupt.
MAX_BLOCK_LINES: Final = 1_000_000


def _lines_of(start: int, end: int, end_column: int) -> range:
    if end - start > MAX_BLOCK_LINES:
        raise ReportError("corrupt_report", f"a block spans lines {start} to {end}")
    if start == end:
        return range(start, start + 1)
    return range(start, end + 1 if end_column > 2 else end)


def _by_block(numbers: list[int]) -> dict[int, dict[str, int]]:
    """Line -> block -> highest count: the blocks each line is spanned by."""
    lines: dict[int, dict[str, int]] = {}
    fields = [numbers[i::_FIELDS] for i in range(_FIELDS)]
    for start, start_col, end, end_col, _, count in zip(*fields, strict=True):
        block = f"{start}.{start_col}"
        for number in _lines_of(start, end, end_col):
            line = lines.setdefault(number, {})
            line[block] = max(line.get(block, 0), count)
    return lines


def _file(path: bytes, blocks: list[bytes]) -> FileCoverage | None:
    """The file of `blocks`; None when they span no line."""
    file = FileCoverage(path.decode("utf-8", errors="replace"))
    numbers = _numbers(blocks)
    starts, ends, end_cols = numbers[0::_FIELDS], numbers[2::_FIELDS], numbers[3::_FIELDS]
    counts = numbers[5::_FIELDS]
    spans = list(map(_lines_of, starts, ends, end_cols))
    spanned = list(chain.from_iterable(spans))
    if not spanned:
        return None
    small = max(counts) < len(PLAIN)
    coverages = map(PLAIN.__getitem__, counts) if small else map(hits, counts)
    lines = dict(zip(spanned, chain.from_iterable(map(repeat, coverages, map(len, spans))), strict=True))
    if len(lines) == len(spanned):  # the usual profile: no line in two blocks, a line takes its block's count
        lines.pop(0, None)  # as FileCoverage.add
        file.lines = lines
        return file
    for number, by_block in _by_block(numbers).items():
        if len(by_block) == 1:
            file.add(number, hits(next(iter(by_block.values()))))
            continue
        missing = tuple(block for block, count in by_block.items() if count == 0)
        file.add(number, Coverage(max(by_block.values()), Branches.from_missing(len(by_block), missing)))
    return file


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    path: bytes | None = None
    blocks: list[bytes] = []  # the numbers of the blocks of `path` so far
    for text in text_chunks(stream):
        # "mode: ..." and blank lines do not match; go writes each file's blocks together
        for name, run in groupby(_BLOCK.findall(text), key=itemgetter(0)):
            if name != path:
                if path is not None and (file := _file(path, blocks)) is not None:
                    yield file
                path, blocks = name, []
            blocks.extend(map(itemgetter(1), run))
    if path is not None and (file := _file(path, blocks)) is not None:
        yield file
