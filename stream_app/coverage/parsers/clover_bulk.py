"""Clover XML read in bulk (see xmlbulk): what clover.parse gives, without an object per line.

The holder is the <file>. Its lines' `num`, `type` and `count` come from three XPath calls
(OpenClover writes no count on `cond` lines: the counts are then the other lines', which the
lengths and the cond lines tell); `method` lines are flagged from the types, `cond` lines (two
branches, true and false) are made one by one. A batch that is not plain (a line without a
type, a count missing elsewhere, a value int() refuses, a line number stated twice or below 1)
is read one line at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from itertools import compress, repeat
from operator import eq, ne
from typing import Final

from stream_app.coverage.bundle import open_view
from stream_app.coverage.linecov import Coverage, hits, merge
from stream_app.coverage.parsers import clover
from stream_app.coverage.parsers.base import PLAIN, PLAIN_OF_TEXT, SHARED_LIMIT, FileCoverage, SharedLines, method_line
from stream_app.coverage.parsers.clover import cond_line, line_coverage
from stream_app.coverage.parsers.xmlbulk import Irregular, Round, each_line, elements, last_child, read_in_bulk, values
from stream_app.coverage.parsers.xmlsafe import Element

_TAGS: Final = ("file", "package")
_NUMBERS, _TYPES, _COUNTS = values("line/@num"), values("line/@type"), values("line/@count")
_CONDS: Final = elements("line[@type='cond']")
_TRUE_COUNTED: Final = elements("line/@truecount/..")  # the cond lines, when each has a truecount: cheaper


def _cond_lines(holder: Element, conds: int) -> list[Element]:
    """The `conds` cond lines: the lines with a truecount when those are them (cheaper to find)."""
    lines = _TRUE_COUNTED(holder)
    if len(lines) == conds and all(line.get("type") == "cond" for line in lines):
        return lines
    return _CONDS(holder)


def _plain(counts: list[str]) -> list[Coverage]:
    """Coverage of stmt lines of these counts (negative ones are 0); ValueError for garbage."""
    coverages = list(map(PLAIN_OF_TEXT.get, counts))
    if all(coverages):  # not `None in`: that calls Coverage.__eq__
        return coverages  # type: ignore[return-value]
    return [PLAIN[n] if n < len(PLAIN) else hits(n) for n in (max(int(c), 0) for c in counts)]


class _Reader:
    __slots__ = ("conds", "file", "holder", "shared")

    def __init__(self) -> None:
        self.shared = SharedLines()
        self.conds: dict[tuple[str | None, ...], Coverage] = {}
        self.holder: Element | None = None  # the open <file>
        self.file: FileCoverage | None = None  # its lines (None: it has no path nor name)

    def start(self, element: Element, found: Round) -> None:
        if element.tag == "file":
            if self.holder is not None:
                raise Irregular  # a file in a file
            path = element.get("path") or element.get("name")
            self.holder, self.file = element, FileCoverage(path) if path else None

    def end(self, element: Element, found: Round) -> FileCoverage | None:
        done = None
        if element.tag == "file" and element is self.holder:
            self._read(element, final=True, found=found)
            done, self.holder, self.file = self.file, None, None
        found.releases.append(element)
        return done if done is not None and done.lines else None

    def drain(self, found: Round) -> None:
        if self.holder is not None:
            self._read(self.holder, final=False, found=found)

    def _read(self, holder: Element, *, final: bool, found: Round) -> None:
        """Read the lines but the last child when the file is still open (the parser may be inside
        it); all its <line> children are counted for the round's check."""
        kept = None if final else last_child(holder)
        numbers = _NUMBERS(holder)
        found.lines += len(numbers)  # a line without a number shows in the check
        found.cuts.append((holder, -1 if kept is not None else None))
        if (file := self.file) is None:
            return
        ready = len(numbers) - (kept is not None and kept.tag == "line")
        table = self._batch(holder, numbers, ready, kept) if ready > 0 else {}
        if table is not None and (not file.lines or file.lines.keys().isdisjoint(table)):
            file.lines.update(table)
            return
        lines = file.lines
        for line in each_line(holder, kept):  # as clover.parse reads them
            number, coverage = line_coverage(line, self.shared)
            if number > 0 and (known := lines.setdefault(number, coverage)) is not coverage:
                lines[number] = merge(known, coverage)

    def _batch(
        self, holder: Element, numbers: list[str], ready: int, kept: Element | None
    ) -> dict[int, Coverage] | None:
        """The first `ready` lines, when every line has a type, every line but maybe the cond
        ones a count, and reading them is order-free; None otherwise."""
        types = _TYPES(holder)
        if len(types) != len(numbers):
            return None
        try:
            lines = list(map(int, numbers[:ready]))
        except ValueError:
            return None
        counts, conds = _COUNTS(holder), types.count("cond")
        cond_lines = _cond_lines(holder, conds) if conds else []
        if len(counts) == len(numbers):
            keys, kinds = lines, types
        elif len(counts) == len(numbers) - conds and not any(line.get("count") for line in cond_lines):
            others = list(compress(range(ready), map(ne, types, repeat("cond"))))  # the lines with a count
            keys, kinds = list(map(lines.__getitem__, others)), list(map(types.__getitem__, others))
        else:
            return None
        del counts[len(keys) :]  # the kept line's
        try:
            table = dict(zip(keys, _plain(counts), strict=True))
            for j in compress(range(len(keys)), map(eq, kinds, repeat("method"))):
                table[keys[j]] = method_line(max(int(counts[j]), 0))
        except ValueError:
            return None
        for line in cond_lines:
            if line is not kept:
                table[int(line.get("num"))] = self._cond_line(line)  # type: ignore[arg-type]
        return table if len(table) == ready and min(lines) > 0 else None

    def _cond_line(self, line: Element) -> Coverage:
        """cond_line(), once per distinct (truecount, falsecount, count): a report repeats a few."""
        get = line.get
        key = (get("truecount"), get("falsecount"), get("count"))
        coverage = self.conds.get(key)
        if coverage is None:
            if len(self.conds) >= SHARED_LIMIT:
                self.conds.clear()
            coverage = self.conds[key] = cond_line(line, self.shared)
        return coverage


def parse(view: memoryview) -> Iterator[FileCoverage]:
    return read_in_bulk(partial(open_view, view), _TAGS, _Reader, clover.parse)
