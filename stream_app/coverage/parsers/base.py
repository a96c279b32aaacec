"""What every format parser yields, and small helpers they share.

A parser yields a `FileCoverage` (a dict of lines, built line by line) or a `FileTable` (the
lines already in a LineTable, as the C scanner hands them over: no object per line). Both have
`path` and `lines`, a mapping of line number to Coverage that `PartialReport.add_file` takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Final

from stream_app.coverage.errors import CORRUPT_REPORT, ReportError
from stream_app.coverage.linecov import Branches, Coverage, hits, merge
from stream_app.coverage.linetable import LineTable

PLAIN: Final = tuple(hits(n) for n in range(256))  # hits(n) for small n, indexed instead of called
PLAIN_OF_TEXT: Final = {str(n): line for n, line in enumerate(PLAIN)}  # "7" -> hits(7), no int() needed
_METHOD: Final = tuple(Coverage(n, None, True) for n in range(256))


def method_line(count: int) -> Coverage:
    """Coverage(count, None, True), shared for small counts."""
    return _METHOD[count] if 0 <= count < 256 else Coverage(count, None, True)


@dataclass(slots=True)
class FileCoverage:
    """One file's line coverage as one report states it (paths not yet fixed)."""

    path: str
    lines: dict[int, Coverage] = field(default_factory=dict)

    def add(self, number: int, coverage: Coverage) -> None:
        """Record a line; a line stated twice is merged (max hits, branch union)."""
        if number <= 0:
            return
        known = self.lines.get(number)
        self.lines[number] = coverage if known is None else merge(known, coverage)

    def mark_method(self, number: int, hits: int) -> None:
        """A function starts on `number`: flag that line, or add it as a method line."""
        if number <= 0:
            return
        count = max(hits, 0)
        known = self.lines.get(number)
        if known is None:
            self.lines[number] = method_line(count)
        elif known.branches is None:  # what merge() gives, without building the method line first
            self.lines[number] = method_line(max(known.hits, count))
        else:
            self.lines[number] = merge(known, Coverage(count, None, True))


@dataclass(slots=True)
class FileTable:
    """One file's line coverage, already as a LineTable (paths not yet fixed)."""

    path: str
    lines: LineTable


ParsedFile = FileCoverage | FileTable

CHUNK_SIZE: Final = 1 << 20
SHARED_LIMIT: Final = 4096


class SharedLines:
    """Lines with branches, one instance per distinct value while it is in use.

    A frozen dataclass costs about half a microsecond to build (a line with branches: two),
    a look-up here a tenth of that, and a report repeats the same few states (`1 hit, 1 of 2
    branches, missing "0:1"`) on many lines. Bounded: emptied when it reaches `SHARED_LIMIT`.
    """

    __slots__ = ("_counted", "_named")

    def __init__(self) -> None:
        self._named: dict[tuple[int, int, tuple[str, ...]], Coverage] = {}
        self._counted: dict[tuple[int, int, int], Coverage] = {}

    def named(self, count: int, total: int, missing: tuple[str, ...]) -> Coverage:
        """Coverage(count, Branches.from_missing(total, missing))."""
        key = (count, total, missing)
        line = self._named.get(key)
        if line is None:
            if len(self._named) >= SHARED_LIMIT:
                self._named.clear()
            line = self._named[key] = Coverage(count, Branches.from_missing(total, missing))
        return line

    def counted(self, count: int, covered: int, total: int) -> Coverage:
        """Coverage(count, Branches(covered, total))."""
        key = (count, covered, total)
        line = self._counted.get(key)
        if line is None:
            if len(self._counted) >= SHARED_LIMIT:
                self._counted.clear()
            line = self._counted[key] = Coverage(count, Branches(covered, total))
        return line


def text_chunks(stream: IO[bytes], cut_after: bytes = b"\n", size: int | None = None) -> Iterator[bytes]:
    """The stream in pieces of about `size` (default CHUNK_SIZE) bytes that end with a whole line
    (the last piece may lack its final newline): cut after the last `cut_after` in what was read,
    else after the last newline. Memory is bounded by `size` plus the longest line."""
    size = CHUNK_SIZE if size is None else size
    pending: list[bytes] = []  # what was read since the last cut
    while chunk := stream.read(size):
        cut = chunk.rfind(cut_after)
        cut = cut + len(cut_after) if cut >= 0 else chunk.rfind(b"\n") + 1
        if cut == 0:
            pending.append(chunk)
            continue
        pending.append(chunk[:cut])
        yield b"".join(pending)
        pending = [chunk[cut:]] if cut < len(chunk) else []
    if pending:
        yield b"".join(pending)


def to_int(value: str | bytes | int | float | None, what: str) -> int:
    """An integer field of a report; floats such as "3.0" are accepted, garbage is corrupt_report."""
    if value is None:
        raise ReportError(CORRUPT_REPORT, f"{what} is missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            raise ReportError(CORRUPT_REPORT, f"{what} is not a number: {value!r}") from None
