"""Incremental, hostile-input-proof XML reading shared by the XML report parsers.

Entity declarations only live in a DTD, so a document may carry no internal DTD subset at all.
A DOCTYPE is refused, except the exact external declarations real tools write (JaCoCo always
writes one, Java Cobertura too); those DTDs are never loaded (`load_dtd=False`,
`no_network=True`) and entities are never resolved. The prolog is checked on raw bytes before
libxml2 sees anything, and the parsed DOCTYPE is checked again after the root starts.

Memory stays bounded by the deepest open element path, not by the document: callers
`release()` every element they are done with (clear it and drop its earlier siblings).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any, Final, TypedDict

from lxml import etree

from stream_app.coverage.errors import CORRUPT_REPORT, ReportError

HEAD_SIZE: Final = 64 * 1024
_ALLOWED_DOCTYPES: Final = (
    re.compile(rb'<!DOCTYPE\s+report\s+PUBLIC\s+"-//JACOCO//DTD Report 1\.[01]//EN"\s+"report\.dtd"\s*>'),
    re.compile(rb'<!DOCTYPE\s+coverage\s+SYSTEM\s+"https?://cobertura\.sourceforge\.net/xml/coverage-0[1-4]\.dtd"\s*>'),
)
_PROLOG_ITEM: Final = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE: Final = re.compile(rb"<!DOCTYPE[^>\[]*(\[|>)")
Element = etree._Element


# libxml2 options for untrusted reports, shared by every XML reader: no entity expansion, no
# DTD or network access, no size escape hatch (what makes hostile XML a corrupt_report).
class SafeParserOptions(TypedDict):
    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    huge_tree: bool
    remove_comments: bool
    remove_pis: bool


SAFE_PARSER: Final[SafeParserOptions] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def _ascii_head(head: bytes) -> bytes:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    return head.removeprefix(b"\xef\xbb\xbf")


def root_start(head: bytes) -> bytes:
    """The bytes from the root element's `<` on, after refusing any DTD we do not allow."""
    text, pos = _ascii_head(head), 0
    while m := _PROLOG_ITEM.match(text, pos):
        pos = m.end()
    if text.startswith(b"<!DOCTYPE", pos):
        doctype = _DOCTYPE.match(text, pos)
        if doctype is None or doctype.group(1) == b"[":
            raise ReportError(CORRUPT_REPORT, "XML with a DTD (DOCTYPE internal subset) is refused")
        if not any(allowed.fullmatch(doctype.group(0)) for allowed in _ALLOWED_DOCTYPES):
            raise ReportError(CORRUPT_REPORT, "XML with an unknown DOCTYPE is refused")
        pos = doctype.end()
        while m := _PROLOG_ITEM.match(text, pos):
            pos = m.end()
    if not text.startswith(b"<", pos) or text.startswith(b"<!", pos):
        raise ReportError(CORRUPT_REPORT, "XML prolog too long or malformed")
    return text[pos:]


def check_docinfo(root: Element) -> None:
    """corrupt_report when the document's parsed DOCTYPE declares anything or is not one we allow."""
    docinfo = root.getroottree().docinfo
    doctype = str(getattr(docinfo, "doctype", "") or "")  # lxml-stubs lack DocInfo.doctype
    if not doctype:
        return
    dtd: Any = docinfo.internalDTD  # lxml-stubs lack DTD.iterentities()
    declares = dtd is not None and (any(True for _ in dtd.iterentities()) or any(True for _ in dtd.iterelements()))
    allowed = any(p.fullmatch(doctype.encode()) for p in _ALLOWED_DOCTYPES)
    if declares or not allowed:
        raise ReportError(CORRUPT_REPORT, "XML with a DTD is refused")


def iter_ends(stream: IO[bytes], tags: tuple[str, ...]) -> Iterator[Element]:
    """Each element of `tags` once it is complete, parsed incrementally; syntax errors are corrupt_report.

    Only end events are reported (half the events of start+end); a parser finds an element's
    context through `getparent()`, whose proxy is the same object while the parser holds it.
    """
    head = stream.read(HEAD_SIZE)
    root_start(head)
    source = _Prefixed(head, stream)
    events = etree.iterparse(source, events=("end",), tag=tags, **SAFE_PARSER)
    try:
        for _, element in events:
            check_docinfo(element)
            yield element
            break
        for _, element in events:
            yield element
    except etree.XMLSyntaxError as exc:
        raise ReportError(CORRUPT_REPORT, f"XML syntax error: {exc}") from exc


def release(element: Element) -> None:
    """Free a finished element and everything parsed before it under the same parent."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def drop_before(element: Element, parent: Element) -> None:
    """Free the elements before `element` under its `parent` in one go (a batched release())."""
    del parent[: parent.index(element)]


class _Prefixed:
    """A read()-able stream that first replays the bytes already taken for the prolog check."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head: bytes | None = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head is not None:
            head, self._head = self._head, None
            if head:
                return head
        return self._rest.read(size)
