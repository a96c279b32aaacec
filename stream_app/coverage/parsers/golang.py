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
Where the C scanner was built (`native`), it reads a chunk's block lines and builds the table of
a file whose blocks do not overlap, with no Python object per line; a chunk with a line it does
not plainly understand, and a file whose blocks overlap, are read as above.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator
from itertools import chain, groupby, repeat
from operator import add, eq, gt, itemgetter, sub
from typing import IO, Final

from stream_app.coverage.errors import ReportError
from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.linetable import LineTable
from stream_app.coverage.parsers import native
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, FileTable, ParsedFile, text_chunks

# A block line, as `^(.+):(\d+)\.(\d+),(\d+)\.(\d+)\s+\d+\s+(\d+)\s*$` reads the line without its
# line end: the same, with [^\S\n] for \s so that no match runs into the next line. Groups: the
# path, and the numbers `<line.col>,<line.col> <statements> <count>`.
_BLANK: Final = rb"[^\S\n]"
_BLOCK: Final = re.compile(
    rb"^(.+):(\d+\.\d+,\d+\.\d+" + _BLANK + rb"+\d+" + _BLANK + rb"+\d+)" + _BLANK + rb"*$", re.MULTILINE
)
_TO_COMMAS: Final = bytes.maketrans(b". \t\r\x0b\x0c\n", b",,,,,,,")
_DIGITS: Final = re.compile(rb"[0-9]+")
_FIELDS: Final = 6  # start line, start column, end line, end column, statements, count
_SHAPE: Final = b"\n.,.  "  # a block line without its path and digits: `\n<d>.<d>,<d>.<d> <d> <d>`


def _numbers(blocks: bytes) -> list[int]:
    """The numbers of blocks ("1.2,3.4 5 6", joined by anything but a digit), converted in C."""
    joined = blocks.translate(_TO_COMMAS).strip(b",")
    try:
        return json.loads(b"[" + joined + b"]")  # type: ignore[no-any-return]
    except ValueError:  # a leading zero, or a run of blanks
        return [int(n) for n in _DIGITS.findall(joined)]


# No Go block spans this many lines; a profile that says so would expand into one entry per
# line and exhaust memory, so it is refused as corrupt.
MAX_BLOCK_LINES: Final = 1_000_000
# Nor does one file's blocks span this many lines in all (overlaps counted again): a few kilobytes
# of blocks each a million lines long would otherwise take gigabytes and minutes to expand.
MAX_FILE_LINES: Final = 2_000_000


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


def _spans(numbers: list[int]) -> list[range]:
    """_lines_of() of each block, with C iterators: a block ends on its end line unless at column 1
    or 2; one of a single line spans it; one ending before it starts spans nothing."""
    starts, ends, end_cols = numbers[0::_FIELDS], numbers[2::_FIELDS], numbers[3::_FIELDS]
    if max(map(sub, ends, starts)) > MAX_BLOCK_LINES:
        for block in zip(starts, ends, end_cols, strict=True):
            _lines_of(*block)  # raises for the first such block
    stops = map(max, map(add, ends, map(gt, end_cols, repeat(2))), map(add, starts, map(eq, starts, ends)))
    spans = list(map(range, starts, stops))
    if sum(map(len, spans)) > MAX_FILE_LINES:
        raise ReportError("corrupt_report", f"one file's blocks span more than {MAX_FILE_LINES} lines")
    return spans


def _file(path: bytes, numbers: list[int]) -> FileCoverage | None:
    """The file of the blocks of `numbers`; None when they span no line."""
    file = FileCoverage(path.decode("utf-8", errors="replace"))
    counts = numbers[5::_FIELDS]
    spans = _spans(numbers)
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


def _run_end(text: bytes, start: int, lead: bytes, window: int) -> int:
    """Where the lines from text[start] (a newline) on that start with `lead` ("\n<path>:") end,
    or where some other path's line comes between them: found looking back from a window
    that doubles while the run fills it, so a profile is searched about once."""
    window = max(window, len(lead))  # the run's first line starts with lead: found in any window
    while True:
        limit = min(start + window, len(text))
        end = text.find(b"\n", text.rfind(lead, start, limit) + 1)
        if limit == len(text) or not text.startswith(lead, end):
            return end
        window *= 2


def _runs(text: bytes) -> Iterator[tuple[bytes, list[int]]]:
    """(path, numbers of its blocks) for the block lines of `text` (whole lines), a run of one
    path's lines at a time: in bulk when each is plainly `<path>:<d>.<d>,<d>.<d> <d> <d>`, else
    with _BLOCK (which also skips what is no block line)."""
    # _BLOCK takes a \r before a line's end as a blank: dropping it changes no match
    text = b"\n" + text.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
    pos, window = 0, 4096
    while pos < len(text) - 1:
        line_end = text.find(b"\n", pos + 1)
        colon = text.rfind(b":", pos, line_end)
        lead = text[pos : colon + 1]  # "\n<path>:"
        end = _run_end(text, pos, lead, window) if colon > pos else line_end
        run = text[pos:end]
        lines, blocks = run.count(b"\n"), run.replace(lead, b"\n")
        if colon > pos and run.count(lead) == lines and blocks.translate(None, b"0123456789") == _SHAPE * lines:
            try:
                numbers = json.loads(b"[" + blocks.translate(_TO_COMMAS)[1:] + b"]")
            except ValueError:  # an empty or zero-led number
                pass
            else:
                yield lead[1:-1], numbers
                pos, window = end, max(4096, 2 * (end - pos))
                continue
        for name, found in groupby(_BLOCK.findall(text, pos + 1, end), key=itemgetter(0)):
            yield name, _numbers(b" ".join(map(itemgetter(1), found)))
        pos = end


# One file's block numbers as they came: a C scanner's int64 bytes, or a list from the Python reader
Numbers = bytes | list[int]


def _finished(path: bytes, parts: list[Numbers]) -> ParsedFile | None:
    """The file of the blocks of `parts`; None when they span no line."""
    scanner = native.scanner
    scanned = [part for part in parts if isinstance(part, bytes)]
    if scanner is not None and len(scanned) == len(parts):
        table = scanner.go_table(b"".join(scanned))
        if table is not None:
            return FileTable(path.decode("utf-8", errors="replace"), LineTable.from_arrays(*table))
    numbers: list[int] = []
    for part in parts:
        numbers += array("q", part) if isinstance(part, bytes) else part
    return _file(path, numbers)


def parse(stream: IO[bytes]) -> Iterator[ParsedFile]:
    path: bytes | None = None
    parts: list[Numbers] = []  # the numbers of the blocks of `path` so far
    for text in text_chunks(stream):
        # "mode: ..." and blank lines are no blocks; go writes each file's blocks together
        runs = native.scanner.go_runs(text) if native.scanner is not None else None
        for name, found in _runs(text) if runs is None else runs:
            if name != path:
                if path is not None and (file := _finished(path, parts)) is not None:
                    yield file
                path, parts = name, []
            parts.append(found)
    if path is not None and (file := _finished(path, parts)) is not None:
        yield file
