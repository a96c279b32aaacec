"""Coverage totals with the well-known keys, and the coverage percent string.

`coverage` is hits / lines as a percent string with 5 decimals, *truncated* (never rounded up):
"100" only when every line is a hit, "0" when there are no lines or no hits, otherwise e.g.
"83.33333" (5/6) or "50.00000". Truncating means a report never shows more coverage than it
has (99.999996% stays "99.99999", so a 100% target is never met by rounding). The division is
exact (Decimal), so the string does not depend on float rounding.

`branches` counts lines that carry branch information and `methods` counts method lines (the
same meaning as Codecov's totals); `partials` are lines where some but not all branches ran.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Final

from stream_app.coverage.linecov import Coverage

_FIVE_PLACES: Final = Decimal("0.00001")


def percent(hits: int, lines: int) -> str:
    if lines <= 0 or hits <= 0:
        return "0"
    if hits >= lines:
        return "100"
    value = (Decimal(hits) * 100 / Decimal(lines)).quantize(_FIVE_PLACES, rounding=ROUND_DOWN)
    return f"{value:.5f}"


@dataclass(slots=True)
class LineCounts:
    """Counts over the lines of one file (or many): the raw material of Totals."""

    lines: int = 0
    hits: int = 0
    misses: int = 0
    partials: int = 0
    branches: int = 0
    methods: int = 0

    def add(self, coverage: Coverage) -> None:
        self.lines += 1
        status = coverage.status
        if status == "hit":
            self.hits += 1
        elif status == "miss":
            self.misses += 1
        else:
            self.partials += 1
        if coverage.branches is not None:
            self.branches += 1
        if coverage.method:
            self.methods += 1

    def extend(self, other: LineCounts) -> None:
        self.lines += other.lines
        self.hits += other.hits
        self.misses += other.misses
        self.partials += other.partials
        self.branches += other.branches
        self.methods += other.methods

    @classmethod
    def of(cls, coverages: Iterable[Coverage]) -> LineCounts:
        counts = cls()
        for coverage in coverages:
            counts.add(coverage)
        return counts


@dataclass(frozen=True, slots=True)
class Totals:
    files: int
    lines: int
    hits: int
    misses: int
    partials: int
    coverage: str
    branches: int
    methods: int
    sessions: int

    @classmethod
    def of(cls, per_file: Iterable[LineCounts], *, sessions: int) -> Totals:
        """Totals over files; a file without lines is not counted."""
        total, files = LineCounts(), 0
        for counts in per_file:
            if counts.lines:
                files += 1
                total.extend(counts)
        return cls(
            files=files,
            lines=total.lines,
            hits=total.hits,
            misses=total.misses,
            partials=total.partials,
            coverage=percent(total.hits, total.lines),
            branches=total.branches,
            methods=total.methods,
            sessions=sessions,
        )

    def to_dict(self) -> dict[str, int | str]:
        return asdict(self)
