"""Cobertura XML, including coverage.py's `coverage xml`.

    <class filename="pkg/mod.py">
      <methods><method name="f"><lines><line number="4" hits="1"/></lines></method></methods>
      <lines>
        <line number="4" hits="1"/>
        <line number="5" hits="1" branch="true" condition-coverage="50% (1/2)" missing-branches="6"/>

Class-level lines give the coverage; a method's first line is flagged as a method line.
coverage.py names the missing branches (their target lines), so sessions merge exactly.
Several classes of one file (Java inner classes) are merged by the caller.

This per-line reader is the reference: parse_report reads the format with cobertura_bulk, which
gives the same and hands it irregular documents.

Speed: only <class>, <method> and <line> end events reach Python; a line's context (which
class, inside a method or not) is worked out once per <lines> holder, its attributes are read
once with `get`, and finished lines are dropped from the tree in batches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import IO, Final

from stream_app.coverage.linecov import Coverage, hits, merge
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, SharedLines, to_int
from stream_app.coverage.parsers.xmlrun import BATCH, read_line_run
from stream_app.coverage.parsers.xmlsafe import Element, drop_before, iter_ends, release

_CONDITION: Final = re.compile(r"\((\d+)\s*/\s*(\d+)\)")
_TAGS: Final = ("class", "method", "line")


@lru_cache(maxsize=1024)
def _condition(text: str) -> tuple[int, int] | None:
    """(covered, total) of a condition-coverage such as "50% (1/2)": a few distinct ones a report."""
    condition = _CONDITION.search(text)
    return None if condition is None else (int(condition.group(1)), int(condition.group(2)))


def branch_line(line: Element, count: int, shared: SharedLines) -> Coverage:
    condition = _condition(line.get("condition-coverage") or "")
    if condition is None:
        return hits(count)
    covered, total = condition
    missing = "" if covered >= total else line.get("missing-branches")
    if missing == "":
        return shared.named(count, total, ())
    if missing is not None and total - covered == len(names := missing.split(",")):
        return shared.named(count, total, tuple(names))
    return shared.counted(count, covered, total)


def line_coverage(line: Element, shared: SharedLines) -> tuple[int, Coverage]:
    """A <line>'s number and coverage, its attributes read once."""
    get = line.get
    number_text, hits_text = get("number"), get("hits")
    try:
        number, count = int(number_text), 0 if hits_text is None else int(hits_text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number, count = to_int(number_text, "line number"), to_int(hits_text, "hits")
    # counting the attributes is cheaper than looking for one that is not there
    others = len(line.attrib) - (number_text is not None) - (hits_text is not None)
    if others and get("branch") == "true":
        return number, branch_line(line, max(count, 0), shared)
    return number, PLAIN[count] if 0 <= count < 256 else hits(count)


class _Reader:
    """The class being read. Lines find their class through their parents (only end events);
    what that gives is the same for every line of one <lines> holder, so it is worked out at
    the first of them, and any other event forgets the holder."""

    __slots__ = ("context", "file", "holder", "in_method", "method", "method_line", "owner", "pending", "shared")

    def __init__(self) -> None:
        self.shared = SharedLines()
        self.owner: Element | None = None  # the <class> whose lines are being read
        self.file: FileCoverage | None = None
        self.method: Element | None = None  # the <method> whose first line is being looked for
        self.method_line: tuple[int, int] | None = None
        self.holder: Element | None = None  # the <lines> of the last line
        self.context: Element | None = None  # the holder's parent: its <class> or <method>; None: skip its lines
        self.in_method = False
        self.pending = 0  # lines read under the holder since the last drop

    def _enter(self, holder: Element | None) -> FileCoverage | None:
        self.holder, self.pending = holder, 0
        self.context = context = holder.getparent() if holder is not None else None
        if context is None:
            return None
        self.in_method = in_method = context.tag == "method"
        cls = context.getparent().getparent() if in_method else context  # type: ignore[union-attr]
        if cls is None or cls is self.owner:
            return None
        done, self.owner = self.file, cls  # the next class: the one before is done
        path = cls.get("filename")
        self.file = FileCoverage(path) if path else None
        return done

    def line(self, line: Element) -> FileCoverage | None:
        holder, done = line.getparent(), None
        if holder is not self.holder or holder is None:
            done = self._enter(holder)
        file = self.file
        if file is not None and self.context is not None:
            number, coverage = line_coverage(line, self.shared)
            if self.in_method:
                method_line = self.method_line
                if self.method is not self.context or method_line is None or number < method_line[0]:
                    self.method, self.method_line = self.context, (number, coverage.hits)
            elif number > 0:  # as FileCoverage.add
                known = file.lines.setdefault(number, coverage)
                if known is not coverage:
                    file.lines[number] = merge(known, coverage)
        self.pending += 1
        if self.pending == BATCH and holder is not None:
            drop_before(line, holder)
            self.pending = 0
        return done if done is not None and done.lines else None

    def class_lines(self) -> tuple[Element, dict[int, Coverage]] | None:
        """(holder, its file's lines) when the last line was a class's own line, else None."""
        if self.holder is None or self.context is None or self.file is None or self.in_method:
            return None
        return self.holder, self.file.lines

    def end(self, element: Element) -> FileCoverage | None:
        """A <method> or <class> ends."""
        self.holder, done = None, None
        if element.tag == "method":
            if self.file is not None and self.method_line is not None:
                self.file.mark_method(*self.method_line)
            self.method, self.method_line = None, None
        else:
            done, self.owner, self.file = self.file, None, None
        release(element)
        return done if done is not None and done.lines else None


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    reader = _Reader()
    events = iter(iter_ends(stream, _TAGS))
    element = next(events, None)
    while element is not None:
        done = reader.line(element) if element.tag == "line" else reader.end(element)
        if done is not None:
            yield done
        if element.tag == "line" and (run := reader.class_lines()) is not None:
            # what reader.line() does for each following line of this holder, in a tight loop
            element, reader.pending = read_line_run(events, *run, reader.shared, reader.pending, line_coverage)
        else:
            element = next(events, None)
