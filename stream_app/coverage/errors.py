"""The one exception of the coverage package: a report that cannot be used, with a stable code."""

from __future__ import annotations

from typing import Final, Literal

ErrorCode = Literal["unknown_format", "report_empty", "corrupt_report"]

UNKNOWN_FORMAT: Final = "unknown_format"
REPORT_EMPTY: Final = "report_empty"
CORRUPT_REPORT: Final = "corrupt_report"


class ReportError(Exception):
    """An upload that cannot become a report. `code` is what the upload row keeps as `error_code`."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: ErrorCode = code
        self.detail = detail
