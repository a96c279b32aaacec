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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import IO, Final

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.parsers.base import FileCoverage, to_int
from stream_app.coverage.parsers.xmlsafe import Element, iter_ends, release

_TAGS: Final = ("package", "method", "sourcefile", "line")


def _line(element: Element) -> tuple[int, Coverage]:
    attributes = element.attrib
    try:
        number, covered_instructions = int(attributes["nr"]), int(attributes.get("ci", 0))
        missed_branches, covered_branches = int(attributes.get("mb", 0)), int(attributes.get("cb", 0))
    except (KeyError, ValueError):
        number, covered_instructions = to_int(attributes.get("nr"), "line nr"), to_int(attributes.get("ci"), "ci")
        missed_branches, covered_branches = to_int(attributes.get("mb"), "mb"), to_int(attributes.get("cb"), "cb")
    count = 1 if covered_instructions > 0 else 0
    total = missed_branches + covered_branches
    if total <= 0:
        return number, hits(count)
    return number, Coverage(count, Branches(covered_branches, total))


def _method_hit(method: Element) -> int:
    for counter in method.iterchildren("counter"):
        if counter.get("type") == "METHOD":
            return 1 if to_int(counter.get("covered", "0"), "covered") > 0 else 0
    return 0


class _State:
    """Lines find their source file, and methods their class, through their parents (only end events)."""

    def __init__(self) -> None:
        self.owner: Element | None = None  # the <sourcefile> being read
        self.file: FileCoverage | None = None
        # (package, source file) -> method line -> hit
        self.methods: defaultdict[tuple[str, str], dict[int, int]] = defaultdict(dict)

    def line(self, line: Element) -> None:
        owner = line.getparent()
        if owner is None:
            return
        if owner is not self.owner:
            package = _name(owner.getparent())
            name = owner.get("name") or ""
            self.owner, self.file = owner, FileCoverage(f"{package}/{name}" if package else name)
        if self.file is not None:
            self.file.add(*_line(line))

    def method(self, method: Element) -> None:
        cls = method.getparent()
        if method.get("line") and cls is not None:
            key = (_name(cls.getparent()), cls.get("sourcefilename") or "")
            line = to_int(method.get("line"), "method line")
            self.methods[key][line] = max(self.methods[key].get(line, 0), _method_hit(method))

    def end_sourcefile(self, sourcefile: Element) -> FileCoverage | None:
        file, self.owner, self.file = self.file, None, None
        methods = self.methods.pop((_name(sourcefile.getparent()), sourcefile.get("name") or ""), {})
        if file is None or not file.lines:
            return None
        for line, hit in methods.items():
            if line in file.lines:
                file.mark_method(line, hit)
        return file

    def end_package(self, package: Element) -> None:
        name = _name(package)
        for key in [k for k in self.methods if k[0] == name]:
            del self.methods[key]


def _name(package: Element | None) -> str:
    return (package.get("name") or "").strip("/") if package is not None and package.tag == "package" else ""


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    state = _State()
    for element in iter_ends(stream, _TAGS):
        tag = element.tag
        if tag == "line":
            state.line(element)
        elif tag == "method":
            state.method(element)
        elif tag == "sourcefile" and (done := state.end_sourcefile(element)) is not None:
            yield done
        elif tag == "package":
            state.end_package(element)
        release(element)
