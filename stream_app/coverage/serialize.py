"""Compact JSON for reports and partial reports; decoding gives back an equal object.

A coverage value is written as:
  5                     a plain line with 5 hits
  [h, c, t]             h hits, branches c covered of t (missing ones not named)
  [h, c, t, ["a"]]      ... and the ids of the missing branches
  ["m", ...]            the same, on a method line ("m" followed by one of the above)
A report file is a list of rows `[line, merged, [session, coverage], ...]`; a partial report
file is a list of rows `[line, coverage]`. Rows are written one by one, so encoding a big
report never builds its whole JSON tree in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Final

from stream_app.coverage.linecov import Branches, Coverage, hits
from stream_app.coverage.linetable import LineTable
from stream_app.coverage.partial import PartialReport
from stream_app.coverage.report import Line, Report, ReportFile
from stream_app.coverage.session import Session

REPORT_FORMAT: Final = "stream_app.report/1"
PARTIAL_FORMAT: Final = "stream_app.partial/1"


def encode_coverage(cov: Coverage) -> Any:
    if cov.branches is None and not cov.method:
        return cov.hits
    value: list[Any] = [cov.hits]
    if cov.branches is not None:
        value += [cov.branches.covered, cov.branches.total]
        if cov.branches.missing is not None:
            value.append(list(cov.branches.missing))
    return ["m", *value] if cov.method else value


def decode_coverage(value: Any) -> Coverage:
    if isinstance(value, int):
        return hits(value)
    if not isinstance(value, list) or not value:
        raise ValueError(f"not a coverage value: {value!r}")
    method = value[0] == "m"
    rest = value[1:] if method else value
    branches = None
    if len(rest) >= 3:
        missing = tuple(str(m) for m in rest[3]) if len(rest) > 3 else None
        branches = Branches(int(rest[1]), int(rest[2]), missing)
    return Coverage(int(rest[0]), branches, method)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _coverage_json(cov: Coverage) -> str:
    # Most values are plain hit counts: str() of the int is their JSON, without json.dumps' cost
    # (a merged report writes one value per line and session: millions for a big commit).
    if cov.branches is None and not cov.method:
        return str(int(cov.hits))
    return _dumps(encode_coverage(cov))


def _document(header: dict[str, Any], files: Iterable[tuple[str, Iterable[str]]]) -> Iterator[str]:
    yield _dumps(header)[:-1] + ',"files":{'
    for i, (path, rows) in enumerate(files):
        yield ("," if i else "") + _dumps(path) + ":[" + ",".join(rows) + "]"
    yield "}}"


def _report_rows(report_file: ReportFile) -> Iterator[str]:
    for number in sorted(report_file.lines):
        line = report_file.lines[number]
        sessions = "".join(f",[{sid},{_coverage_json(cov)}]" for sid, cov in line.sessions)
        yield f"[{number},{_coverage_json(line.coverage)}{sessions}]"


def dump_report(report: Report) -> bytes:
    header = {"format": REPORT_FORMAT, "sessions": [s.to_json() for _, s in sorted(report.sessions.items())]}
    files = ((path, _report_rows(f)) for path, f in sorted(report.files.items()))
    return "".join(_document(header, files)).encode()


def load_report(data: bytes | str) -> Report:
    doc = json.loads(data)
    if doc.get("format") != REPORT_FORMAT:
        raise ValueError(f"not a {REPORT_FORMAT} document")
    sessions = {s.id: s for s in (Session.from_json(raw) for raw in doc["sessions"])}
    files: dict[str, ReportFile] = {}
    for path, rows in doc["files"].items():
        lines = {
            int(row[0]): Line(decode_coverage(row[1]), tuple((int(sid), decode_coverage(cov)) for sid, cov in row[2:]))
            for row in rows
        }
        files[path] = ReportFile(path, lines)
    return Report(sessions, files)


def dump_partial(partial: PartialReport) -> bytes:
    header = {"format": PARTIAL_FORMAT, "session": partial.session.to_json()}
    files = (
        (path, (f"[{n},{_coverage_json(cov)}]" for n, cov in table.items()))
        for path, table in sorted(partial.files.items())
    )
    return "".join(_document(header, files)).encode()


def load_partial(data: bytes | str) -> PartialReport:
    doc = json.loads(data)
    if doc.get("format") != PARTIAL_FORMAT:
        raise ValueError(f"not a {PARTIAL_FORMAT} document")
    files = {
        path: LineTable.from_mapping({int(row[0]): decode_coverage(row[1]) for row in rows})
        for path, rows in doc["files"].items()
    }
    return PartialReport(Session.from_json(doc["session"]), files)
