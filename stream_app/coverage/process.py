"""One upload in, one PartialReport out: bundle -> formats -> parsed files -> fixed paths.

Error policy (the upload ends in state `error` with the code; the commit goes on):
* a report whose format is unknown is skipped while another report of the upload is usable;
  if none is known: `unknown_format`;
* a broken or hostile report (XML with a DTD, invalid JSON or XML) fails the upload:
  `corrupt_report`, so coverage is never silently understated;
* nothing left after parsing and path fixing (or no report at all): `report_empty`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from stream_app.coverage.bundle import Bundle, open_bundle, read_bundle
from stream_app.coverage.errors import REPORT_EMPTY, UNKNOWN_FORMAT, ReportError
from stream_app.coverage.parsers import Format, parse_report
from stream_app.coverage.partial import PartialReport
from stream_app.coverage.paths import PathResolver
from stream_app.coverage.session import Session


@dataclass(frozen=True, slots=True)
class UploadOptions:
    session_id: int
    flags: Sequence[str] = ()
    fixes: Sequence[str] = ()
    ignore: Sequence[str] = ()
    repo_files: Collection[str] | None = None  # used when the bundle has no file list


def parse_upload(
    raw: bytes | memoryview,
    *,
    session_id: int,
    flags: Sequence[str] = (),
    fixes: Sequence[str] = (),
    ignore: Sequence[str] = (),
    repo_files: Collection[str] | None = None,
) -> PartialReport:
    """Parse an upload held in memory (plain or gzipped bundle, or one bare report)."""
    options = UploadOptions(session_id, flags, fixes, ignore, repo_files)
    return _partial(read_bundle(raw), options)


def parse_upload_file(
    path: str | Path,
    *,
    session_id: int,
    flags: Sequence[str] = (),
    fixes: Sequence[str] = (),
    ignore: Sequence[str] = (),
    repo_files: Collection[str] | None = None,
) -> PartialReport:
    """The same, reading the upload from a file through mmap (memory follows the result, not the file)."""
    options = UploadOptions(session_id, flags, fixes, ignore, repo_files)
    with open_bundle(path) as bundle:
        return _partial(bundle, options)


def _partial(bundle: Bundle, options: UploadOptions) -> PartialReport:
    if not bundle.reports:
        raise ReportError(REPORT_EMPTY, "the upload holds no report file")
    files = bundle.file_list if bundle.file_list is not None else options.repo_files
    resolve = PathResolver(repo_files=files, fixes=options.fixes, ignore=options.ignore)
    session = Session(options.session_id, tuple(options.flags), extra=tuple(sorted(bundle.env.items())))
    partial = PartialReport(session)
    formats: list[Format | None] = []
    for report in bundle.reports:
        try:
            fmt, parsed = parse_report(report.data)
        except ReportError as exc:
            if exc.code == REPORT_EMPTY:
                formats.append(None)  # a known shape with nothing in it (e.g. nyc's `{}`)
            elif exc.code != UNKNOWN_FORMAT:
                raise
            continue
        formats.append(fmt)
        for file in parsed:
            path = resolve(file.path)
            if path is not None:
                partial.add_file(path, file.lines)
    if not formats:
        raise ReportError(UNKNOWN_FORMAT, f"none of the {len(bundle.reports)} report file(s) has a known format")
    if not partial.files:
        raise ReportError(REPORT_EMPTY, "no covered file left after parsing and path fixing")
    return partial
