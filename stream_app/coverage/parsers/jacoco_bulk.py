"""JaCoCo XML read in bulk (see xmlbulk): what jacoco.parse gives, without an object per line.

The holder is the <sourcefile>; its lines' `nr`, `ci`, `mb` and `cb` come from four XPath
calls. A line is hit when `ci` > 0 (the usual small counts are looked up, not int()-ed), and
has branches when `mb` or `cb` is not "0" and they add up to more than 0: those few are made
one by one. Method lines (from the <class> elements before the sourcefile) come from
jacoco.MethodLines, as in jacoco.parse. A batch that is not plain (an attribute missing, a value
int() refuses, a line number stated twice or below 1) is read one line at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from itertools import compress, repeat
from operator import ne, or_
from typing import Final

from stream_app.coverage.bundle import open_view
from stream_app.coverage.linecov import Coverage, merge
from stream_app.coverage.parsers import jacoco
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, SharedLines
from stream_app.coverage.parsers.jacoco import MethodLines, line_coverage, package_name
from stream_app.coverage.parsers.xmlbulk import (
    Irregular,
    Round,
    each_line,
    last_child,
    plain_lines,
    read_in_bulk,
    values,
)
from stream_app.coverage.parsers.xmlsafe import Element

_TAGS: Final = ("package", "method", "sourcefile")
_NR, _CI, _MB, _CB = (values(f"line/@{name}") for name in ("nr", "ci", "mb", "cb"))
_HIT_OF_TEXT: Final = {str(n): PLAIN[n > 0] for n in range(256)}  # covered instructions -> hits(0 or 1)


def _plain_batch(numbers: list[str], covered: list[str]) -> dict[int, Coverage] | None:
    """The batch's lines without their branches (a line ran when it covered any instruction),
    when reading them is order-free."""
    return plain_lines(numbers, covered, _HIT_OF_TEXT, lambda n: PLAIN[n > 0])


class _Reader:
    __slots__ = ("file", "holder", "methods", "shared")

    def __init__(self) -> None:
        self.shared = SharedLines()
        self.methods = MethodLines()
        self.holder: Element | None = None  # the open <sourcefile>
        self.file: FileCoverage | None = None

    def start(self, element: Element, found: Round) -> None:
        if element.tag == "sourcefile":
            if self.holder is not None:
                raise Irregular  # a sourcefile in a sourcefile
            package, name = package_name(element.getparent()), element.get("name") or ""
            self.holder, self.file = element, FileCoverage(f"{package}/{name}" if package else name)

    def end(self, element: Element, found: Round) -> FileCoverage | None:
        tag, done = element.tag, None
        if tag == "sourcefile" and element is self.holder:
            self._read(element, final=True, found=found)
            done = self.methods.mark(element, self.file)
            self.holder, self.file = None, None
        elif tag == "method":
            self.methods.add(element)
        elif tag == "package":
            self.methods.end_package(element)
        found.releases.append(element)
        return done

    def drain(self, found: Round) -> None:
        if self.holder is not None:
            self._read(self.holder, final=False, found=found)

    def _read(self, holder: Element, *, final: bool, found: Round) -> None:
        """Read the lines but the last child when the sourcefile is still open (the parser may be
        inside it); all its <line> children are counted for the round's check."""
        kept = None if final else last_child(holder)
        numbers, covered, missed_branches, covered_branches = _NR(holder), _CI(holder), _MB(holder), _CB(holder)
        found.lines += len(numbers)  # a line without a number shows in the check
        found.cuts.append((holder, -1 if kept is not None else None))
        file = self.file
        assert file is not None
        if len(numbers) == len(covered) == len(missed_branches) == len(covered_branches):
            ready = len(numbers) - (kept is not None and kept.tag == "line")
            table = self._batch(numbers[:ready], covered[:ready], missed_branches[:ready], covered_branches[:ready])
            if table is not None and (not file.lines or file.lines.keys().isdisjoint(table)):
                file.lines.update(table)
                return
        lines, shared = file.lines, self.shared
        for line in each_line(holder, kept):  # as jacoco.parse reads them
            number, coverage = line_coverage(line, shared)
            if number > 0 and (known := lines.setdefault(number, coverage)) is not coverage:
                lines[number] = merge(known, coverage)

    def _batch(
        self, numbers: list[str], covered: list[str], missed_branches: list[str], covered_branches: list[str]
    ) -> dict[int, Coverage] | None:
        if not numbers:
            return {}
        table = _plain_batch(numbers, covered)
        if table is None:
            return None
        # the lines whose mb or cb is not "0": the only ones that may have branches
        odd = map(or_, map(ne, missed_branches, repeat("0")), map(ne, covered_branches, repeat("0")))
        shared = self.shared
        for i in compress(range(len(numbers)), odd):
            try:
                missed, hit = int(missed_branches[i]), int(covered_branches[i])
            except ValueError:
                return None
            if missed + hit > 0:
                number = int(numbers[i])
                table[number] = shared.counted(table[number].hits, hit, missed + hit)
        return table


def parse(view: memoryview) -> Iterator[FileCoverage]:
    return read_in_bulk(partial(open_view, view), _TAGS, _Reader, jacoco.parse)
