"""The uploader's bundle: optional env block and file list, then report files.

    KEY=value                  (env block, ended by `<<<<<< ENV`)
    src/a.py                   (repo file list, ended by `<<<<<< network`)
    # path=coverage.xml        (optional header of a report file)
    <report bytes>
    <<<<<< EOF                 (end of that report file)

Sections are told apart by the marker that ends them, so the env block and the file list may
come in either order; content after the last marker is one more report file, so a bare report
(no markers at all) is a bundle of one. Gzipped input is recognised by its magic bytes.

A gzipped upload is inflated once (at most MAX_INFLATED bytes, else corrupt_report).
Nothing else is copied: the bundle is scanned once for markers (a C-speed `find`), and each
embedded report is a memoryview into the raw bytes or into an mmap of the file, which the
parsers read as a stream.
"""

from __future__ import annotations

import gzip
import io
import mmap
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from stream_app.coverage.errors import CORRUPT_REPORT, ReportError

Searchable = bytes | bytearray | mmap.mmap
Buffer = Searchable | memoryview
_HEAD: Final = 64 * 1024
GZIP_MAGIC: Final = b"\x1f\x8b"
MAX_INFLATED: Final = 2 * 1024**3  # a gzipped upload may not inflate past this (gzip bombs)
_MARK: Final = b"<<<<<< "
_KINDS: Final = {b"network": "network", b"ENV": "env", b"EOF": "eof"}
_PATH_HEADER: Final = b"# path="


@dataclass(frozen=True, slots=True)
class EmbeddedReport:
    name: str | None  # from its `# path=` header, when it has one
    data: memoryview

    def open(self) -> IO[bytes]:
        """A buffered binary stream over the report's bytes (no copy)."""
        return open_view(self.data)


def open_view(view: memoryview) -> IO[bytes]:
    """A buffered binary stream over a memoryview, reading it in place."""
    return io.BufferedReader(_ViewReader(view), buffer_size=256 * 1024)


@dataclass(slots=True)
class Bundle:
    file_list: tuple[str, ...] | None = None  # repo paths, when the uploader sent them
    env: dict[str, str] = field(default_factory=dict)
    reports: list[EmbeddedReport] = field(default_factory=list)


def _line_end(buf: Searchable, pos: int) -> int:
    end = buf.find(b"\n", pos)
    return len(buf) if end < 0 else end


def _markers(buf: Searchable) -> Iterator[tuple[int, int, str]]:
    """(start of the marker line, start of the next line, kind) for every marker line."""
    pos = 0
    while (at := buf.find(_MARK, pos)) >= 0:
        end = _line_end(buf, at)
        word = bytes(buf[at + len(_MARK) : min(end, at + 32)]).strip()
        if (at == 0 or buf[at - 1 : at] == b"\n") and end - at < 32 and word in _KINDS:
            yield at, min(end + 1, len(buf)), _KINDS[word]
        pos = end


def _text_lines(view: memoryview) -> list[str]:
    lines = bytes(view).decode("utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip()]


def _is_blank(view: memoryview) -> bool:
    return len(view) <= _HEAD and not bytes(view).strip()


def _report(view: memoryview) -> EmbeddedReport | None:
    head = bytes(view[:_HEAD])
    stripped = head.lstrip()
    start, name = len(head) - len(stripped), None
    if stripped.startswith(_PATH_HEADER):
        header_end = stripped.find(b"\n")
        header_end = len(stripped) if header_end < 0 else header_end
        name = stripped[len(_PATH_HEADER) : header_end].decode("utf-8", errors="replace").strip() or None
        start += header_end + 1
    body = view[min(start, len(view)) :]
    return None if _is_blank(body) else EmbeddedReport(name, body)


def _gunzip(source: IO[bytes], sink: IO[bytes] | bytearray, limit: int) -> None:
    """Inflate into `sink`; past `limit` bytes (a gzip bomb) or on a broken stream: corrupt_report."""
    total = 0
    try:
        with gzip.GzipFile(fileobj=source) as unzipped:
            while chunk := unzipped.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise ReportError(CORRUPT_REPORT, f"upload inflates to more than {limit} bytes")
                if isinstance(sink, bytearray):
                    sink += chunk
                else:
                    sink.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise ReportError(CORRUPT_REPORT, f"broken gzip stream: {exc}") from exc


def read_bundle(raw: Buffer, *, max_inflated: int = MAX_INFLATED) -> Bundle:
    """Split a bundle held in memory (or mmapped); gzip is inflated once, up to `max_inflated` bytes."""
    buf: Searchable = bytes(raw) if isinstance(raw, memoryview) else raw
    if buf[:2] == GZIP_MAGIC:
        inflated = bytearray()
        _gunzip(io.BytesIO(buf), inflated, max_inflated)
        buf = inflated
    view, bundle, pos = memoryview(buf), Bundle(), 0
    for start, nxt, kind in _markers(buf):
        section = view[pos:start]
        if kind == "network":
            bundle.file_list = tuple(_text_lines(section))
        elif kind == "env":
            bundle.env = dict(line.split("=", 1) for line in _text_lines(section) if "=" in line)
        elif (report := _report(section)) is not None:
            bundle.reports.append(report)
        pos = nxt
    if (report := _report(view[pos:])) is not None:
        bundle.reports.append(report)
    return bundle


@contextmanager
def open_bundle(path: str | Path, *, max_inflated: int = MAX_INFLATED) -> Iterator[Bundle]:
    """A bundle read from a file through mmap; a gzipped file is first inflated to a temp file."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if gzipped:
            with tempfile.TemporaryFile() as inflated:
                _gunzip(raw, inflated, max_inflated)
                inflated.flush()
                with _mapped(inflated) as bundle:
                    yield bundle
        else:
            with _mapped(raw) as bundle:
                yield bundle


@contextmanager
def _mapped(file: IO[bytes]) -> Iterator[Bundle]:
    file.seek(0, io.SEEK_END)
    if file.tell() == 0:
        yield Bundle()
        return
    with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        bundle = read_bundle(mapped)
        try:
            yield bundle
        finally:
            for report in bundle.reports:
                report.data.release()
            bundle.reports.clear()


class _ViewReader(io.RawIOBase):
    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), len(self._view) - self._pos)
        buffer[:count] = self._view[self._pos : self._pos + count]
        self._pos += count
        return count
