"""JaCoCo XML.

    <package name="com/example">
      <class name="com/example/Grades" sourcefilename="Grades.java">
        <method name="grade" desc="(I)V" line="5"><counter type="METHOD" missed="0" covered="1"/></method>
      </class>
      <sourcefile name="Grades.java">
        <line nr="5" mi="0" ci="3" mb="1" cb="1"/>

A line is hit when it has covered instructions (JaCoCo gives no counts); `mb`/`cb` are its
missed/covered branches. Method lines come from the classes of the same source file, which
JaCoCo writes before the sourcefile element. Paths are `package/sourcefile`.

This per-line reader is the reference: parse_report reads the format with jacoco_bulk, which
gives the same and hands it irregular documents.

Speed: only <package>, <method>, <sourcefile> and <line> end events reach Python; a line's
attributes are read once with `get`, and finished lines are dropped from the tree in batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import IO, Final

from stream_app.coverage.linecov import Coverage, merge
from stream_app.coverage.parsers.base import PLAIN, FileCoverage, SharedLines, to_int
from stream_app.coverage.parsers.xmlrun import BATCH, read_line_run
from stream_app.coverage.parsers.xmlsafe import Element, drop_before, iter_ends, release

_TAGS: Final = ("package", "method", "sourcefile", "line")


def _method_hit(method: Element) -> int:
    for counter in method.iterchildren("counter"):
        if counter.get("type") == "METHOD":
            return 1 if to_int(counter.get("covered", "0"), "covered") > 0 else 0
    return 0


def line_coverage(line: Element, shared: SharedLines) -> tuple[int, Coverage]:
    """A <line>'s number and coverage, its attributes read once."""
    get = line.get
    nr, ci, mb, cb = get("nr"), get("ci"), get("mb"), get("cb")
    try:
        number, covered_instructions = int(nr), 0 if ci is None else int(ci)  # type: ignore[arg-type]
        missed_branches, covered_branches = 0 if mb is None else int(mb), 0 if cb is None else int(cb)
    except (TypeError, ValueError):
        number, covered_instructions = to_int(nr, "line nr"), to_int(ci, "ci")
        missed_branches, covered_branches = to_int(mb, "mb"), to_int(cb, "cb")
    count = 1 if covered_instructions > 0 else 0
    total = missed_branches + covered_branches
    return number, PLAIN[count] if total <= 0 else shared.counted(count, covered_branches, total)


class MethodLines:
    """The method lines JaCoCo gives in the <class> elements written before their <sourcefile>:
    per (package, source file name), line -> hit."""

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: defaultdict[tuple[str, str], dict[int, int]] = defaultdict(dict)

    def add(self, method: Element) -> None:
        cls = method.getparent()
        if method.get("line") and cls is not None:
            key = (package_name(cls.getparent()), cls.get("sourcefilename") or "")
            line = to_int(method.get("line"), "method line")
            self._lines[key][line] = max(self._lines[key].get(line, 0), _method_hit(method))

    def mark(self, sourcefile: Element, file: FileCoverage | None) -> FileCoverage | None:
        """The sourcefile ends: its file (when it has lines) with its method lines flagged."""
        methods = self._lines.pop((package_name(sourcefile.getparent()), sourcefile.get("name") or ""), {})
        if file is None or not file.lines:
            return None
        for line, hit in methods.items():
            if line in file.lines:
                file.mark_method(line, hit)
        return file

    def end_package(self, package: Element) -> None:
        name = package_name(package)
        for key in [k for k in self._lines if k[0] == name]:
            del self._lines[key]


class _Reader:
    """Lines find their source file, and methods their class, through their parents (only end events)."""

    __slots__ = ("file", "methods", "owner", "pending", "shared")

    def __init__(self) -> None:
        self.shared = SharedLines()
        self.owner: Element | None = None  # the <sourcefile> being read
        self.file: FileCoverage | None = None
        self.pending = 0  # lines read under `owner` since the last drop
        self.methods = MethodLines()

    def line(self, line: Element) -> None:
        owner = line.getparent()
        if owner is None:
            release(line)
            return
        if owner is not self.owner:
            package = package_name(owner.getparent())
            name = owner.get("name") or ""
            self.owner, self.file, self.pending = owner, FileCoverage(f"{package}/{name}" if package else name), 0
        number, coverage = line_coverage(line, self.shared)
        if number > 0:  # as FileCoverage.add
            lines = self.file.lines  # type: ignore[union-attr]
            known = lines.setdefault(number, coverage)
            if known is not coverage:
                lines[number] = merge(known, coverage)
        self.pending += 1
        if self.pending == BATCH:
            drop_before(line, owner)
            self.pending = 0

    def end(self, element: Element) -> FileCoverage | None:
        """A <method>, <sourcefile> or <package> ends."""
        done, tag = None, element.tag
        if tag == "method":
            self.methods.add(element)
        elif tag == "sourcefile":
            file, self.owner, self.file = self.file, None, None
            done = self.methods.mark(element, file)
        elif tag == "package":
            self.methods.end_package(element)
        release(element)
        return done


def package_name(package: Element | None) -> str:
    return (package.get("name") or "").strip("/") if package is not None and package.tag == "package" else ""


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    reader = _Reader()
    events = iter(iter_ends(stream, _TAGS))
    element = next(events, None)
    while element is not None:
        if element.tag != "line":
            if (done := reader.end(element)) is not None:
                yield done
            element = next(events, None)
            continue
        reader.line(element)
        if reader.owner is None or reader.file is None:
            element = next(events, None)
            continue
        # what reader.line() does for each following line of this source file, inlined
        element, reader.pending = read_line_run(
            events, reader.owner, reader.file.lines, reader.shared, reader.pending, line_coverage
        )
