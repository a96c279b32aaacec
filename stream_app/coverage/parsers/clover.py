"""Clover XML (OpenClover, PHPUnit `--coverage-clover`).

    <project><package name="..."><file name="Foo.php" path="/abs/Foo.php">
      <line num="4" type="method" count="2"/>
      <line num="5" type="cond" truecount="1" falsecount="0"/>
      <line num="6" type="stmt" count="0"/>

A `cond` line has two branches (true, false); its hits are the times it was evaluated.
Files may sit in packages or directly under the project; the path is `path`, else `name`.

This per-line reader is the reference: parse_report reads the format with clover_bulk, which
gives the same and hands it irregular documents.

Speed: only <file> and <line> end events reach Python; a line's attributes are read once with
`get`, and finished lines are dropped from the tree in batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Final

from stream_app.coverage.linecov import Coverage, hits, merge
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, SharedLines, method_line, to_int
from stream_app.coverage.parsers.xmlrun import BATCH, read_line_run
from stream_app.coverage.parsers.xmlsafe import Element, drop_before, iter_ends, release

_TAGS: Final = ("file", "line")


def cond_line(line: Element, shared: SharedLines) -> Coverage:
    true_count = max(to_int(line.get("truecount", "0"), "truecount"), 0)
    false_count = max(to_int(line.get("falsecount", "0"), "falsecount"), 0)
    missing = ("true",) * (true_count == 0) + ("false",) * (false_count == 0)
    count_text = line.get("count")
    count = to_int(count_text, "count") if count_text else true_count + false_count
    return shared.named(count, 2, missing)


def line_coverage(line: Element, shared: SharedLines) -> tuple[int, Coverage]:
    """A <line>'s number and coverage, its attributes read once."""
    get = line.get
    num, kind = get("num"), get("type", "stmt")
    if kind == "cond":
        return to_int(num, "line num"), cond_line(line, shared)
    count_text = get("count", "0")
    try:
        number, count = int(num), int(count_text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number, count = to_int(num, "line num"), to_int(count_text, "count")
    count = max(count, 0)
    if kind == "method":
        return number, method_line(count)  # what FileCoverage.mark_method adds
    return number, PLAIN[count] if count < 256 else hits(count)


class _Reader:
    __slots__ = ("current", "owner", "pending", "shared")

    def __init__(self) -> None:
        self.shared = SharedLines()
        self.owner: Element | None = None  # the <file> whose lines are being read (only end events)
        self.current: FileCoverage | None = None
        self.pending = 0  # lines read under `owner` since the last drop

    def line(self, line: Element) -> None:
        parent = line.getparent()
        if parent is not None and parent is not self.owner:
            path = parent.get("path") or parent.get("name")
            self.owner, self.current, self.pending = parent, FileCoverage(path) if path else None, 0
        if (current := self.current) is not None:
            number, coverage = line_coverage(line, self.shared)
            if number > 0:  # as FileCoverage.add
                known = current.lines.setdefault(number, coverage)
                if known is not coverage:
                    current.lines[number] = merge(known, coverage)
        if parent is None:
            release(line)
            return
        self.pending += 1
        if self.pending == BATCH:
            drop_before(line, parent)
            self.pending = 0

    def end_file(self, file: Element) -> FileCoverage | None:
        current, owner, self.owner, self.current = self.current, self.owner, None, None
        release(file)
        return current if current is not None and current.lines and file is owner else None


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    reader = _Reader()
    events = iter(iter_ends(stream, _TAGS))
    element = next(events, None)
    while element is not None:
        if element.tag != "line":
            if (done := reader.end_file(element)) is not None:
                yield done
            element = next(events, None)
            continue
        reader.line(element)
        if reader.owner is None or reader.current is None or element.getparent() is None:
            element = next(events, None)
            continue
        # what reader.line() does for each following line of this file, inlined
        element, reader.pending = read_line_run(
            events, reader.owner, reader.current.lines, reader.shared, reader.pending, line_coverage
        )
