"""Clover XML (OpenClover, PHPUnit `--coverage-clover`).

    <project><package name="..."><file name="Foo.php" path="/abs/Foo.php">
      <line num="4" type="method" count="2"/>
      <line num="5" type="cond" truecount="1" falsecount="0"/>
      <line num="6" type="stmt" count="0"/>

A `cond` line has two branches (true, false); its hits are the times it was evaluated.
Files may sit in packages or directly under the project; the path is `path`, else `name`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Final

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import FileCoverage, to_int
from stream_app.coverage.parsers.xmlsafe import Element, iter_ends, release

_TAGS: Final = ("file", "line")


def _add_line(current: FileCoverage, line: Element) -> None:
    number = to_int(line.get("num"), "line num")
    kind = line.get("type", "stmt")
    if kind == "cond":
        true_count = max(to_int(line.get("truecount", "0"), "truecount"), 0)
        false_count = max(to_int(line.get("falsecount", "0"), "falsecount"), 0)
        missing = tuple(name for name, n in (("true", true_count), ("false", false_count)) if n == 0)
        count = to_int(line.get("count"), "count") if line.get("count") else true_count + false_count
        current.add(number, Coverage(count, Branches.from_missing(2, missing)))
        return
    count = max(to_int(line.get("count", "0"), "count"), 0)
    if kind == "method":
        current.mark_method(number, count)
    else:
        current.add(number, hits(count))


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    owner: Element | None = None  # the <file> whose lines are being read (only end events)
    current: FileCoverage | None = None
    for element in iter_ends(stream, _TAGS):
        if element.tag == "line":
            parent = element.getparent()
            if parent is not None and parent is not owner:
                path = parent.get("path") or parent.get("name")
                owner, current = parent, FileCoverage(path) if path else None
            if current is not None:
                _add_line(current, element)
        else:
            if current is not None and current.lines and element is owner:
                yield current
            owner, current = None, None
        release(element)
