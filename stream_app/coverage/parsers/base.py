"""What every format parser yields, and small helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream_app.coverage.errors import CORRUPT_REPORT, ReportError
from stream_app.coverage.linecov import Coverage, merge


@dataclass(slots=True)
class FileCoverage:
    """One file's line coverage as one report states it (paths not yet fixed)."""

    path: str
    lines: dict[int, Coverage] = field(default_factory=dict)

    def add(self, number: int, coverage: Coverage) -> None:
        """Record a line; a line stated twice is merged (max hits, branch union)."""
        if number <= 0:
            return
        known = self.lines.get(number)
        self.lines[number] = coverage if known is None else merge(known, coverage)

    def mark_method(self, number: int, hits: int) -> None:
        """A function starts on `number`: flag that line, or add it as a method line."""
        self.add(number, Coverage(max(hits, 0), None, True))


def to_int(value: str | bytes | int | float | None, what: str) -> int:
    """An integer field of a report; floats such as "3.0" are accepted, garbage is corrupt_report."""
    if value is None:
        raise ReportError(CORRUPT_REPORT, f"{what} is missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            raise ReportError(CORRUPT_REPORT, f"{what} is not a number: {value!r}") from None
