"""Reading an XML report's <line> elements in bulk, without a Python object per line.

libxml2 builds the tree from chunks of the report (a pull parser with the same hostile-input
settings as `xmlsafe.iter_ends`); only the few structural elements (file, class, method, the
element holding the lines: a "holder") reach Python as events. After each chunk a format's
reader takes the lines of its holders in bulk, with XPath (`line/@number`: one C call giving a
list of strings) and int(), and builds the file's line dict with C iterators. Lines are then
dropped, so memory stays bounded by a chunk, as with the per-line readers.

Every chunk ends with a check: the <line> elements in the tree (`count(//line)`, before anything
is dropped) must be the lines the reader found in its holders. A line anywhere else (a shape no
real tool writes) makes the document *irregular*: the format's per-line reader (the reference
behaviour, what the bulk reader is tested against) then reads it from the start, and the files
the bulk reader already handed out are skipped, so callers see the per-line reader's output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import IO, Final, Protocol

from lxml import etree

from stream_app.coverage.errors import CORRUPT_REPORT, ReportError
from stream_app.coverage.linecov import Coverage
from stream_app.coverage.parsers.base import FileCoverage
from stream_app.coverage.parsers.xmlsafe import HEAD_SIZE, SAFE_PARSER, Element, check_docinfo, release, root_start


def plain_lines(
    numbers: list[str], texts: list[str], known: Mapping[str, Coverage], of_count: Callable[[int], Coverage]
) -> dict[int, Coverage] | None:
    """Line -> coverage of a batch (one or more lines) read as the per-line readers would, when
    that is order-free: numbers that int() takes, each once and above 0; None otherwise. A count
    text in `known` needs no int(); any other goes through `of_count(int(text))`."""
    coverages = list(map(known.get, texts))
    try:
        lines = list(map(int, numbers))
        if not all(coverages):  # a text not in `known` (not `None in`: that calls __eq__)
            coverages = list(map(of_count, map(int, texts)))
    except ValueError:
        return None
    if min(lines) <= 0:
        return None
    table: dict[int, Coverage] = dict(zip(lines, coverages, strict=True))  # type: ignore[arg-type]
    return table if len(table) == len(lines) else None


CHUNK_SIZE: Final = 64 * 1024  # fed to libxml2 at a time: the tree holds about this much (and stays in cache)
_LINES_IN_TREE: Final = etree.XPath("count(//line)")


def values(path: str) -> Callable[[Element], list[str]]:
    """An XPath giving a list of plain strings (no "smart" strings that keep their element alive)."""
    return etree.XPath(path, smart_strings=False)  # type: ignore[return-value]


def elements(path: str) -> Callable[..., list[Element]]:
    """An XPath giving a list of elements (keyword arguments are its $variables)."""
    return etree.XPath(path)  # type: ignore[return-value]


def last_child(holder: Element) -> Element | None:
    try:
        return holder[-1]  # found from the end, where len() counts every child
    except IndexError:
        return None


def each_line(holder: Element, kept: Element | None) -> Iterator[Element]:
    """The <line> children but `kept`, for reading a batch one line at a time."""
    return (child for child in holder if child.tag == "line" and child is not kept)


class Irregular(Exception):
    """A <line> outside the holders the bulk reader knows: the per-line reader takes over."""


class Round:
    """What a reader found in one chunk: the lines in its holders, and what to drop after the check."""

    __slots__ = ("cuts", "lines", "releases")

    def __init__(self) -> None:
        self.lines = 0  # <line> elements of known holders in the tree now (read or kept for the next round)
        self.cuts: list[tuple[Element, int | None]] = []  # holder[:end] is dropped after the check
        self.releases: list[Element] = []  # finished elements: released after the check

    def drop(self) -> None:
        for holder, end in self.cuts:
            del holder[:end]
        for element in self.releases:
            release(element)


class Reader(Protocol):
    def start(self, element: Element, found: Round) -> None: ...

    def end(self, element: Element, found: Round) -> FileCoverage | None: ...

    def drain(self, found: Round) -> None:
        """Read the open holder's children but its last (the parser may still be inside that one)."""


Events = list[tuple[str, Element]]  # with tag= given, the pull parser gives only element events


def _rounds(stream: IO[bytes], tags: tuple[str, ...]) -> Iterator[tuple[Events, Element | None]]:
    """The start/end events of `tags`, a list per chunk fed, and at the end the root element;
    syntax errors are corrupt_report."""
    head = stream.read(HEAD_SIZE)
    root_start(head)
    parser = etree.XMLPullParser(events=("start", "end"), tag=tags, **SAFE_PARSER)
    try:
        chunk = head
        while chunk:
            parser.feed(chunk)
            yield list(parser.read_events()), None  # type: ignore[arg-type]
            chunk = stream.read(CHUNK_SIZE)
        root = parser.close()
        yield list(parser.read_events()), root  # type: ignore[arg-type]
    except etree.XMLSyntaxError as exc:
        raise ReportError(CORRUPT_REPORT, f"XML syntax error: {exc}") from exc


def _read(stream: IO[bytes], tags: tuple[str, ...], reader: Reader) -> Iterator[FileCoverage]:
    root: Element | None = None
    for events, last_root in _rounds(stream, tags):
        if root is None and events:
            check_docinfo(events[0][1])
            root = events[0][1].getroottree().getroot()
        root = root if root is not None else last_root  # a document without any event: checked once, at its end
        found, done = Round(), []
        for event, element in events:
            if event == "start":
                reader.start(element, found)
            elif (file := reader.end(element, found)) is not None:
                done.append(file)
        reader.drain(found)
        if root is not None and _LINES_IN_TREE(root) != found.lines:
            raise Irregular
        found.drop()
        yield from done


def read_in_bulk(
    open_stream: Callable[[], IO[bytes]],
    tags: tuple[str, ...],
    reader: Callable[[], Reader],
    reference: Callable[[IO[bytes]], Iterator[FileCoverage]],
) -> Iterator[FileCoverage]:
    """The files of the report, read in bulk; an irregular one is read by `reference` instead."""
    handed_out = 0
    try:
        for file in _read(open_stream(), tags, reader()):
            yield file
            handed_out += 1
    except Irregular:
        yield from islice(reference(open_stream()), handed_out, None)
