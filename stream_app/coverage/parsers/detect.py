"""Which format a report is, from its first bytes (and, for JSON, its parsed shape)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from stream_app.coverage.parsers.xmlsafe import root_start


class Format(StrEnum):
    COBERTURA = "cobertura"
    JACOCO = "jacoco"
    CLOVER = "clover"
    LCOV = "lcov"
    GCOV = "gcov"
    GO = "go"
    COVERAGEPY_JSON = "coveragepy_json"
    ISTANBUL = "istanbul"
    SIMPLECOV = "simplecov"


JSON: Final = "json"  # a JSON document: the shape decides (see parsers.json_format)
_ROOT: Final = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_GO_BLOCK: Final = re.compile(rb"^\S+\.go:\d+\.\d+,\d+\.\d+ \d+ \d+\s*$")
_GCOV_LINE: Final = re.compile(rb"^\s*(?:-|#####|=====|\d+\*?):\s*\d+:")
_LCOV_KEYS: Final = (b"TN:", b"SF:")


def _xml_format(head: bytes) -> Format | None:
    body = root_start(head)
    root = _ROOT.match(body)
    if root is None:
        return None
    name = root.group(1).split(b":")[-1]
    if name == b"report":
        return Format.JACOCO
    if name == b"coverage":
        return Format.CLOVER if re.search(rb"<project[\s/>]", body) else Format.COBERTURA
    return None


def _text_format(head: bytes) -> Format | None:
    lines = [line.strip(b"\r") for line in head.split(b"\n")[:50] if line.strip()]
    if not lines:
        return None
    first = lines[0]
    if first.startswith(b"mode:") or _GO_BLOCK.match(first):
        return Format.GO
    if _GCOV_LINE.match(first):
        return Format.GCOV
    if first.startswith(_LCOV_KEYS) or any(line.startswith(b"SF:") for line in lines):
        return Format.LCOV
    return None


def sniff(head: bytes) -> Format | str | None:
    """A Format, JSON (decide after parsing), or None (unknown). Hostile XML raises corrupt_report."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _xml_format(head)
    if text.startswith((b"{", b"[")):
        return JSON
    return _text_format(text)
