"""LineTable: one session's coverage of one file, stored in flat arrays.

A parsed upload is kept as numbers, not objects: a plain line (a hit count below 2**32, no
branches, not a method) costs 8 bytes, any other line about 30 bytes plus one string naming
its missing branches. So a report's parsed form stays a fraction of its XML or JSON size.
`Coverage` objects are made again only when the lines are read.

A table is built from a mapping of lines (`from_mapping`) or from arrays a C scanner filled
(`from_arrays`, no object per line at all). It reads like a mapping: `len()`, `table[n]`,
`get`, `keys`, `items`, `dict(table)`.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from typing import Final

from stream_app.coverage.linecov import MAX_HITS, Branches, Coverage, hits, merge
from stream_app.coverage.totals import LineCounts

MAX_LINE: Final = 2**31 - 1
_PLAIN_MAX: Final = 2**32 - 1
_METHOD, _BRANCHES, _NAMED = 1, 2, 4  # flag bits of a line that is not plain
_SEP: Final = "\x1f"  # joins the names of missing branches


class LineTable:
    __slots__ = ("_covered", "_flags", "_hits", "_lines", "_missing", "_total", "_xhits", "_xlines")

    def __init__(self) -> None:
        self._lines, self._hits = array("i"), array("I")  # plain lines, sorted
        self._xlines, self._xhits = array("i"), array("q")  # the other lines, sorted
        self._covered, self._total, self._flags = array("i"), array("i"), array("B")
        self._missing: list[str] = []

    @classmethod
    def from_mapping(cls, lines: Mapping[int, Coverage]) -> LineTable:
        table = cls()
        plain_lines: list[int] = []
        plain_hits: list[int] = []
        for number in sorted(lines):
            coverage = lines[number]
            if not 0 < number <= MAX_LINE:
                continue
            if coverage.branches is None and not coverage.method and 0 <= coverage.hits <= _PLAIN_MAX:
                plain_lines.append(number)
                plain_hits.append(coverage.hits)
            else:
                table._append(number, coverage)
        table._lines.extend(plain_lines)
        table._hits.extend(plain_hits)
        return table

    @classmethod
    def from_arrays(
        cls,
        lines: bytes,
        hits: bytes,
        xlines: bytes = b"",
        xhits: bytes = b"",
        covered: bytes = b"",
        total: bytes = b"",
        flags: bytes = b"",
        missing: list[str] | None = None,
    ) -> LineTable:
        """A table from the bytes of its arrays (native order), as _linescan hands them over:
        line numbers in 1..MAX_LINE, sorted, each once, the plain ones' hits below 2**32. Only
        the lengths are checked here; the C scanner's tests check the rest."""
        table = cls()
        table._lines.frombytes(lines)
        table._hits.frombytes(hits)
        if xlines:
            table._xlines.frombytes(xlines)
            table._xhits.frombytes(xhits)
            table._covered.frombytes(covered)
            table._total.frombytes(total)
            table._flags.frombytes(flags)
            table._missing = missing if missing is not None else []
        counts = {len(table._xlines), len(table._xhits), len(table._covered), len(table._total), len(table._flags)}
        if len(table._lines) != len(table._hits) or len(counts | {len(table._missing)}) != 1:
            raise ValueError("LineTable.from_arrays: arrays of different lengths")
        return table

    def _append(self, number: int, cov: Coverage) -> None:
        count = min(max(cov.hits, 0), MAX_HITS)
        branches = cov.branches
        missing = None if branches is None else branches.missing
        flags = (_METHOD if cov.method else 0) | (_BRANCHES if branches else 0) | (_NAMED if missing is not None else 0)
        self._xlines.append(number)
        self._xhits.append(count)
        self._covered.append(branches.covered if branches else 0)
        self._total.append(branches.total if branches else 0)
        self._flags.append(flags)
        self._missing.append(_SEP.join(missing) if missing else "")

    def _extra(self, i: int) -> Coverage:
        flags, branches = self._flags[i], None
        if flags & _BRANCHES:
            names = tuple(self._missing[i].split(_SEP)) if self._missing[i] else ()
            branches = Branches(self._covered[i], self._total[i], names if flags & _NAMED else None)
        return Coverage(self._xhits[i], branches, bool(flags & _METHOD))

    def merged_with(self, lines: Mapping[int, Coverage] | LineTable) -> LineTable:
        """A new table with `lines` merged in by the line merge rules (same session)."""
        combined = dict(self.items())
        for number, coverage in lines.items():
            known = combined.get(number)
            combined[number] = coverage if known is None else merge(known, coverage)
        return LineTable.from_mapping(combined)

    def __len__(self) -> int:
        return len(self._lines) + len(self._xlines)

    def __getitem__(self, number: int) -> Coverage:
        found = self.get(number)
        if found is None:
            raise KeyError(number)
        return found

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.get(number) is not None

    def __iter__(self) -> Iterator[int]:
        return self.keys()

    def keys(self) -> Iterator[int]:
        """The line numbers in order."""
        return heapq.merge(self._lines, self._xlines)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LineTable) and list(self.items()) == list(other.items())

    __hash__ = None  # type: ignore[assignment]

    def get(self, number: int) -> Coverage | None:
        i = bisect_left(self._lines, number)
        if i < len(self._lines) and self._lines[i] == number:
            return hits(self._hits[i])
        i = bisect_left(self._xlines, number)
        if i < len(self._xlines) and self._xlines[i] == number:
            return self._extra(i)
        return None

    def items(self) -> Iterator[tuple[int, Coverage]]:
        """(line number, coverage) in line order."""
        plain = ((n, hits(h)) for n, h in zip(self._lines, self._hits, strict=True))
        other = ((n, self._extra(i)) for i, n in enumerate(self._xlines))
        return heapq.merge(plain, other, key=lambda item: item[0])

    def counts(self) -> LineCounts:
        hit = len(self._hits) - self._hits.count(0)
        counts = LineCounts(lines=len(self._hits), hits=hit, misses=len(self._hits) - hit)
        counts.extend(LineCounts.of(self._extra(i) for i in range(len(self._xlines))))
        return counts
