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

Speed: the lines are matched by one regex over a decoded chunk of whole lines (`findall` in C
hands back the fields of every line it matches), so Python only sees a few small strings a line.
Where the C scanner was built (`native`), it reads the chunks first, each up to its last source
row (the state between two chunks is then only a waiting `function ... called N`), into a line
table with no Python object per line. From the first chunk with a line it does not plainly
understand (a line number again or out of order, `-H` counts, bytes the patterns might read
otherwise), the Python reader goes on from the lines read so far.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import IO, TYPE_CHECKING, Final

from stream_app.coverage.linecov import Coverage, hits, merge
from stream_app.coverage.linetable import LineTable
from stream_app.coverage.parsers import native
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, FileTable, ParsedFile, SharedLines, text_chunks

if TYPE_CHECKING:
    from stream_app.coverage._linescan import Table

# One line of a chunk, as the per-line patterns `^branch\s+\d+\s+(?:taken\s+(\d+)|never executed)`,
# `^function\s+\S+\s+called\s+(\d+)` and `^\s*([^:\s]+):\s*(\d+):(.*)$` (tried in that order) read
# it: the same, with [^\S\n] for \s so that no match runs into the next line. Lines none of them
# matches are skipped, as before. Groups: taken, called, count field, line number, `Source:...`.
_BLANK: Final = r"[^\S\n]"
_LINE: Final = re.compile(
    rf"^(?:branch{_BLANK}+\d+{_BLANK}+(?:taken{_BLANK}+(\d+)|never executed)"
    rf"|function{_BLANK}+\S+{_BLANK}+called{_BLANK}+(\d+)"
    rf"|{_BLANK}*([^:\s]+):{_BLANK}*(\d+):(?:(Source:.*)|.*)$)",
    re.MULTILINE,
)
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


def _rows(chunks: Iterable[bytes]) -> Iterator[tuple[str, str, str, str, str]]:
    """The groups of _LINE, line after line."""
    return chain.from_iterable(_LINE.findall(text.decode("utf-8", errors="replace")) for text in chunks)


class _Branches:
    """The branches under the last source line, stated as they come."""

    __slots__ = ("line", "shared", "taken")

    def __init__(self) -> None:
        self.line: int | None = None  # the source line branches belong to (None: not code)
        self.taken: list[bool] = []  # taken or not, of the branches under `line`
        self.shared = SharedLines()

    def add(self, taken: str) -> None:
        """A branch line: `taken` is its count or percent ("" when never executed)."""
        if self.line is not None:
            self.taken.append(taken != "" and int(taken) > 0)

    def flush(self, lines: dict[int, Coverage]) -> None:
        """The branches of the line are complete: they replace its coverage (its hits kept)."""
        taken, line = self.taken, self.line
        if line is not None and taken:
            known = lines.get(line)
            missing = tuple([str(i) for i, ran in enumerate(taken) if not ran])
            lines[line] = self.shared.named(known.hits if known is not None else 0, len(taken), missing)
        self.taken = []


def _read(rows: Iterator[tuple[str, str, str, str, str]], file: FileCoverage, function_hits: int | None) -> None:
    """The rows into `file`; `function_hits`: a "function ... called N" waiting for its line."""
    lines = file.lines
    branches = _Branches()
    for taken, called, field, digits, source in rows:
        if not field:
            if called:
                function_hits = int(called)
            else:
                branches.add(taken)
            continue
        if branches.taken:
            branches.flush(lines)
        number = int(digits)
        if number == 0:  # "Source:", "Runs:", ...: a function before them still waits
            branches.line = None
            file.path = source[len("Source:") :].strip() if source else file.path
            continue
        count = int(field) if field.isdigit() else _count(field)
        branches.line = None if count is None else number
        if count is not None:
            coverage = PLAIN[count] if 0 <= count < 256 else hits(count)
            known = lines.setdefault(number, coverage)
            if known is not coverage:
                lines[number] = merge(known, coverage)
            if function_hits is not None:
                file.mark_method(number, function_hits)
        function_hits = None
    branches.flush(lines)


class _Scanned:
    """What the C scanner read: the path, the tables of the chunks, a waiting function's calls."""

    __slots__ = ("function_hits", "path", "tables")

    def __init__(self) -> None:
        self.path = ""
        self.tables: list[Table] = []
        self.function_hits: int | None = None

    def table(self) -> LineTable:
        tables = self.tables
        if not tables:
            return LineTable()
        if len(tables) == 1:
            return LineTable.from_arrays(*tables[0])
        lines, hits, xlines, xhits, covered, total, flags, missing = zip(*tables, strict=True)
        join = b"".join
        return LineTable.from_arrays(
            join(lines),
            join(hits),
            join(xlines),
            join(xhits),
            join(covered),
            join(total),
            join(flags),
            [name for names in missing for name in names],
        )


def _scan(chunks: Iterator[bytes], scanned: _Scanned) -> Iterator[bytes] | None:
    """The chunks read by the C scanner into `scanned`; the chunks left to the Python reader, if any."""
    scanner = native.scanner
    if scanner is None:
        return chunks
    function_hits, last_line, carried = -1, 0, b""
    text = next(chunks, None)
    while text is not None:
        following = next(chunks, None)
        text = carried + text  # whole lines: from the last chunk's last source row on
        found = scanner.gcov_chunk(text, following is None, function_hits, last_line)
        if found is None:
            scanned.function_hits = None if function_hits < 0 else function_hits
            return chain([text], () if following is None else [following], chunks)
        cut, source, function_hits, last_line, table = found
        if source is not None:
            scanned.path = source.decode("utf-8", errors="replace").strip()
        scanned.tables.append(table)
        carried, text = text[cut:], following
    return None


def parse(stream: IO[bytes]) -> Iterator[ParsedFile]:
    scanned = _Scanned()
    rest = _scan(text_chunks(stream), scanned)
    if rest is None:
        table = scanned.table()
        if scanned.path and len(table):
            yield FileTable(scanned.path, table)
        return
    file = FileCoverage(scanned.path, dict(scanned.table().items()))
    _read(_rows(rest), file, scanned.function_hits)
    if file.path and file.lines:
        yield file
