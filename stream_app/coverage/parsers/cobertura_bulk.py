"""Cobertura XML read in bulk (see xmlbulk): what cobertura.parse gives, without an object per line.

Holders: the <lines> of a <class> (the class's lines) and the <lines> of a <method> in the
class's <methods> (only the method's first line matters). A batch of a class's lines is read
with two XPath calls (numbers, hits) and int(); its lines with branch="true" (a tenth of a
coverage.py report, say) are read one by one by cobertura's own per-line function. A batch
that is not plain (a line without hits, a number that int() refuses, a line number stated
twice or below 1) is read one line at a time, as cobertura.parse reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Final

from stream_app.coverage.bundle import open_view
from stream_app.coverage.linecov import Coverage, hits, merge
from stream_app.coverage.parsers import cobertura
from stream_app.coverage.parsers.base import PLAIN_OF_TEXT, SHARED_LIMIT, FileCoverage, SharedLines
from stream_app.coverage.parsers.cobertura import branch_line, line_coverage
from stream_app.coverage.parsers.xmlbulk import (
    Irregular,
    Round,
    each_line,
    elements,
    last_child,
    plain_lines,
    read_in_bulk,
    values,
)
from stream_app.coverage.parsers.xmlsafe import Element

_TAGS: Final = ("class", "lines", "method", "package")
_NUMBERS: Final = values("line/@number")
_HITS: Final = values("line/@hits")
# Lines with branch="true"; the predicate on the attribute, not the line, skips lines without one.
_BRANCH_LINES: Final = elements("line/@branch[.='true']/..")
_NTH_LINE: Final = elements("line[$n]")
_FEW: Final = 8  # a method holder with fewer lines is read line by line (cheaper than XPath and int())


def _plain_batch(numbers: list[str], counts: list[str]) -> dict[int, Coverage] | None:
    """The lines of a batch as cobertura reads them one by one, when that is order-free."""
    return plain_lines(numbers, counts, PLAIN_OF_TEXT, hits)


class _Reader:
    __slots__ = ("branches", "file", "holder", "in_class", "in_method", "method_line", "shared")

    def __init__(self) -> None:
        self.shared = SharedLines()
        self.branches: dict[tuple[str | None, ...], Coverage] = {}
        self.in_class = False
        self.file: FileCoverage | None = None  # the class's file (None: the class has no filename)
        self.holder: Element | None = None  # the open <lines> of the class or of one of its methods
        self.in_method = False  # whether `holder` is a method's
        self.method_line: tuple[int, int] | None = None  # (number, hits) of the open method's first line

    def start(self, element: Element, found: Round) -> None:
        if element.tag == "class":
            if self.in_class:
                raise Irregular  # a class in a class
            self.in_class = True
            path = element.get("filename")
            self.file = FileCoverage(path) if path else None
        elif element.tag == "lines" and self.in_class and self.holder is None:
            parent = element.getparent()
            if parent is not None and parent.tag == "class":
                self.holder, self.in_method = element, False
            elif parent is not None and parent.tag == "method" and _in_methods_of_class(parent):
                self.holder, self.in_method = element, True
            # any other <lines>: its lines are in no holder, which the round's check tells

    def end(self, element: Element, found: Round) -> FileCoverage | None:
        tag = element.tag
        if tag == "lines":
            if element is self.holder:
                self._read(element, final=True, found=found)
                self.holder = None
            return None
        found.releases.append(element)
        if tag == "method":
            if self.file is not None and self.method_line is not None:
                self.file.mark_method(*self.method_line)
            self.method_line = None
        elif tag == "class":
            done, self.file, self.in_class = self.file, None, False
            return done if done is not None and done.lines else None
        return None

    def drain(self, found: Round) -> None:
        if self.holder is not None:
            self._read(self.holder, final=False, found=found)

    def _read(self, holder: Element, *, final: bool, found: Round) -> None:
        """Read the holder's lines but the last child when the holder is still open (the parser may
        be inside it); all its <line> children are counted for the round's check."""
        kept = None if final else last_child(holder)
        if self.file is None:
            found.lines += len(_NUMBERS(holder))  # a line without a number shows in the check
        elif self.in_method:
            found.lines += self._method_lines(holder, kept)
        else:
            found.lines += self._class_lines(holder, kept)
        found.cuts.append((holder, -1 if kept is not None else None))

    def _class_lines(self, holder: Element, kept: Element | None) -> int:
        file = self.file
        assert file is not None
        numbers, counts = _NUMBERS(holder), _HITS(holder)
        if numbers and len(numbers) == len(counts):  # each line has both (one without a number shows in the check)
            ready = len(numbers) - (kept is not None and kept.tag == "line")
            table = _plain_batch(numbers[:ready], counts[:ready]) if ready else {}
            if table is not None and (not file.lines or file.lines.keys().isdisjoint(table)):
                for line in _BRANCH_LINES(holder):
                    if line is not kept:
                        table[int(line.get("number"))] = self._branch_line(line)  # type: ignore[arg-type]
                file.lines.update(table)
                return len(numbers)
        lines = file.lines
        for line in each_line(holder, kept):  # as cobertura.parse reads them
            number, coverage = line_coverage(line, self.shared)
            if number > 0 and (known := lines.setdefault(number, coverage)) is not coverage:
                lines[number] = merge(known, coverage)
        return len(numbers)

    def _branch_line(self, line: Element) -> Coverage:
        """line_coverage() of a branch line whose hits int() takes, once per distinct
        (hits, condition-coverage, missing-branches): a report repeats a few of them."""
        get = line.get
        key = (get("hits"), get("condition-coverage"), get("missing-branches"))
        coverage = self.branches.get(key)
        if coverage is None:
            if len(self.branches) >= SHARED_LIMIT:
                self.branches.clear()
            count = max(int(key[0]), 0)  # type: ignore[arg-type]
            coverage = self.branches[key] = branch_line(line, count, self.shared)
        return coverage

    def _method_lines(self, holder: Element, kept: Element | None) -> int:
        """Keep the method's lowest line (the first of equal ones)."""
        numbers, counts = _NUMBERS(holder), _HITS(holder)
        ready = len(numbers) - (kept is not None and kept.tag == "line")
        if ready >= _FEW and len(numbers) == len(counts):
            try:
                lines = list(map(int, numbers[:ready]))
                sum(map(int, counts[:ready]))  # hits int() refuses: read one by one (maybe corrupt_report)
            except ValueError:
                pass
            else:
                self._method_candidate(_NTH_LINE(holder, n=lines.index(min(lines)) + 1)[0])
                return len(numbers)
        for line in each_line(holder, kept):
            self._method_candidate(line)
        return len(numbers)

    def _method_candidate(self, line: Element) -> None:
        number, coverage = line_coverage(line, self.shared)
        if self.method_line is None or number < self.method_line[0]:
            self.method_line = (number, coverage.hits)


def _in_methods_of_class(method: Element) -> bool:
    methods = method.getparent()
    if methods is None or methods.tag != "methods":
        return False
    cls = methods.getparent()
    return cls is not None and cls.tag == "class"


def parse(view: memoryview) -> Iterator[FileCoverage]:
    return read_in_bulk(partial(open_view, view), _TAGS, _Reader, cobertura.parse)
