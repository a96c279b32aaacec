"""Coverage reports as pure logic: the report model, the uploader's bundle, format parsers, path fixing.

No database, Kafka or faust here; services call these functions and store what they return.

    partial = parse_upload(raw, session_id=0, flags=["unit"], fixes=[...], ignore=[...])
    blob = dump_partial(partial)                      # stored per upload by the processor
    report = Report(); report.merge_partials([load_partial(b) for b in blobs])   # the finisher, in session order
    report.totals().to_dict()                          # {"files": .., "coverage": "83.33333", ...}
"""

from stream_app.coverage.bundle import Bundle, EmbeddedReport, open_bundle, read_bundle
from stream_app.coverage.errors import CORRUPT_REPORT, REPORT_EMPTY, UNKNOWN_FORMAT, ReportError
from stream_app.coverage.linecov import Branches, Coverage, hits, merge
from stream_app.coverage.partial import PartialReport
from stream_app.coverage.paths import PathResolver
from stream_app.coverage.process import parse_upload, parse_upload_file
from stream_app.coverage.report import Line, Report, ReportFile
from stream_app.coverage.serialize import dump_partial, dump_report, load_partial, load_report
from stream_app.coverage.session import Session
from stream_app.coverage.totals import Totals, percent

__all__ = [
    "CORRUPT_REPORT",
    "REPORT_EMPTY",
    "UNKNOWN_FORMAT",
    "Branches",
    "Bundle",
    "Coverage",
    "EmbeddedReport",
    "Line",
    "PartialReport",
    "PathResolver",
    "Report",
    "ReportError",
    "ReportFile",
    "Session",
    "Totals",
    "dump_partial",
    "dump_report",
    "hits",
    "load_partial",
    "load_report",
    "merge",
    "open_bundle",
    "parse_upload",
    "parse_upload_file",
    "percent",
    "read_bundle",
]
