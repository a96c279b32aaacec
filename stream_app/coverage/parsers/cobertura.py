"""Cobertura XML, including coverage.py's `coverage xml`.

    <class filename="pkg/mod.py">
      <methods><method name="f"><lines><line number="4" hits="1"/></lines></method></methods>
      <lines>
        <line number="4" hits="1"/>
        <line number="5" hits="1" branch="true" condition-coverage="50% (1/2)" missing-branches="6"/>

Class-level lines give the coverage; a method's first line is flagged as a method line.
coverage.py names the missing branches (their target lines), so sessions merge exactly.
Several classes of one file (Java inner classes) are merged by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Final

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import FileCoverage, to_int
from stream_app.coverage.parsers.xmlsafe import Element, iter_ends, release

_CONDITION: Final = re.compile(r"\((\d+)\s*/\s*(\d+)\)")
_TAGS: Final = ("class", "method", "line")


def _branch_line(line: Element, number: int, count: int) -> tuple[int, Coverage]:
    condition = _CONDITION.search(line.get("condition-coverage") or "")
    if condition is None:
        return number, hits(count)
    covered, total = int(condition.group(1)), int(condition.group(2))
    missing = "" if covered >= total else line.get("missing-branches")
    if missing == "":
        return number, Coverage(count, Branches(total, total, ()))
    if missing is not None and total - covered == len(missing.split(",")):
        return number, Coverage(count, Branches.from_missing(total, tuple(missing.split(","))))
    return number, Coverage(count, Branches(covered, total))


def _line_coverage(line: Element) -> tuple[int, Coverage]:
    attributes = line.attrib
    try:
        number, count = int(attributes["number"]), int(attributes.get("hits", 0))
    except (KeyError, ValueError):
        number, count = to_int(attributes.get("number"), "line number"), to_int(attributes.get("hits"), "hits")
    if attributes.get("branch") == "true":
        return _branch_line(line, number, max(count, 0))
    return number, hits(count)


class _State:
    """The class being read. Lines find their class through their parents (only end events)."""

    def __init__(self) -> None:
        self.owner: Element | None = None  # the <class> whose lines are being read
        self.file: FileCoverage | None = None
        self.method: Element | None = None  # the <method> whose first line is being looked for
        self.method_line: tuple[int, int] | None = None

    def _enter(self, owner: Element) -> FileCoverage | None:
        """Switch to the class `owner`; the previous class, when it had lines, is returned."""
        done, self.owner = self.file, owner
        path = owner.get("filename")
        self.file = FileCoverage(path) if path else None
        return done if done is not None and done.lines else None

    def line(self, line: Element) -> FileCoverage | None:
        holder = line.getparent()
        owner = holder.getparent() if holder is not None else None
        if owner is None:
            return None
        in_method = owner.tag == "method"
        cls = owner.getparent().getparent() if in_method else owner  # type: ignore[union-attr]
        done = self._enter(cls) if cls is not None and cls is not self.owner else None
        if self.file is not None:
            number, coverage = _line_coverage(line)
            if not in_method:
                self.file.add(number, coverage)
            elif self.method is not owner or self.method_line is None or number < self.method_line[0]:
                self.method, self.method_line = owner, (number, coverage.hits)
        return done

    def end_method(self) -> None:
        if self.file is not None and self.method_line is not None:
            self.file.mark_method(*self.method_line)
        self.method, self.method_line = None, None

    def end_class(self) -> FileCoverage | None:
        done, self.owner, self.file = self.file, None, None
        return done if done is not None and done.lines else None


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    state = _State()
    for element in iter_ends(stream, _TAGS):
        tag = element.tag
        if tag == "line":
            done = state.line(element)
        elif tag == "method":
            state.end_method()
            done = None
        else:
            done = state.end_class()
        if done is not None:
            yield done
        release(element)
