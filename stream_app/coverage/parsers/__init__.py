"""Format detection and the format parsers: a report's bytes in, a FileCoverage or FileTable per file out.

`parse_report(data)` detects the format eagerly (so `unknown_format`/`corrupt_report` surface
before iteration) and returns (format, iterator of files). XML and line formats are
streamed from the buffer; JSON formats are loaded whole (json has no incremental reader in
the standard library), so their memory follows the document size. The line formats' regular
lines are read by a C scanner when it was built (`native`), else by the Python readers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import IO, Any, Final

from stream_app.coverage.bundle import open_view
from stream_app.coverage.errors import CORRUPT_REPORT, REPORT_EMPTY, UNKNOWN_FORMAT, ReportError
from stream_app.coverage.parsers import (
    clover_bulk,
    cobertura_bulk,
    coveragepy_json,
    gcov,
    golang,
    istanbul,
    jacoco_bulk,
    lcov,
    simplecov,
)
from stream_app.coverage.parsers.base import FileCoverage, FileTable, ParsedFile
from stream_app.coverage.parsers.detect import JSON, Format, sniff

__all__ = ["FileCoverage", "FileTable", "Format", "ParsedFile", "detect_format", "parse_report"]

# XML formats read in bulk (xmlbulk), from the buffer itself: an irregular document is read again
_IN_BULK: Final[dict[Format, Callable[[memoryview], Iterator[ParsedFile]]]] = {
    Format.COBERTURA: cobertura_bulk.parse,
    Format.JACOCO: jacoco_bulk.parse,
    Format.CLOVER: clover_bulk.parse,
}
_STREAMED: Final[dict[Format, Callable[[IO[bytes]], Iterator[ParsedFile]]]] = {
    Format.LCOV: lcov.parse,
    Format.GCOV: gcov.parse,
    Format.GO: golang.parse,
}
_JSON: Final[tuple[tuple[Format, ModuleType], ...]] = (
    (Format.COVERAGEPY_JSON, coveragepy_json),
    (Format.SIMPLECOV, simplecov),
    (Format.ISTANBUL, istanbul),
)
HEAD_SIZE: Final = 64 * 1024
_DECODER: Final = json.JSONDecoder()  # what json.loads() uses without arguments
_BAD_SHAPE: Final = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _load_json(data: memoryview) -> Any:
    """json.loads(bytes), which decodes the bytes and hands the text to the default decoder;
    decoding the buffer in place saves copying the document to bytes first."""
    try:
        return _DECODER.decode(str(data, json.detect_encoding(data[:4].tobytes()), "surrogatepass"))
    except (ValueError, RecursionError) as exc:
        raise ReportError(CORRUPT_REPORT, f"invalid JSON: {exc}") from exc


def _json_format(doc: Any) -> Format:
    if doc in ({}, []):
        raise ReportError(REPORT_EMPTY, "empty JSON document")
    for fmt, module in _JSON:
        if module.matches(doc):
            return fmt
    raise ReportError(UNKNOWN_FORMAT, "JSON document of no known coverage format")


def detect_format(data: bytes | memoryview) -> Format:
    """The report's format; unknown_format / corrupt_report (hostile or broken XML, bad JSON)."""
    return parse_report(data)[0]


def _guarded(files: Iterator[ParsedFile]) -> Iterator[ParsedFile]:
    try:
        yield from files
    except _BAD_SHAPE as exc:
        raise ReportError(CORRUPT_REPORT, f"malformed report: {exc!r}") from exc


def parse_report(data: bytes | memoryview) -> tuple[Format, Iterator[ParsedFile]]:
    view = memoryview(data)
    found = sniff(view[:HEAD_SIZE].tobytes())
    if found == JSON:
        doc = _load_json(view)
        fmt = _json_format(doc)
        module = dict(_JSON)[fmt]
        return fmt, _guarded(module.parse(doc))
    if not isinstance(found, Format):
        raise ReportError(UNKNOWN_FORMAT, "not a coverage report format this worker knows")
    if found in _IN_BULK:
        return found, _guarded(_IN_BULK[found](view))
    return found, _guarded(_STREAMED[found](open_view(view)))
