"""Totals and the coverage percent string."""

from __future__ import annotations

import pytest

from stream_app.coverage import Branches, Coverage, Totals, hits, percent
from stream_app.coverage.totals import LineCounts


@pytest.mark.parametrize(
    ("hit", "lines", "expected"),
    [
        (0, 0, "0"),
        (0, 10, "0"),
        (10, 10, "100"),
        (5, 6, "83.33333"),
        (1, 2, "50.00000"),
        (2, 3, "66.66666"),  # truncated, not rounded up to 66.66667
        (1, 3, "33.33333"),
        (199_999, 200_000, "99.99950"),
        (9_999_999, 10_000_000, "99.99999"),  # never shows 100 unless every line is hit
        (1, 10_000_000, "0.00001"),
        (1, 100_000_000, "0.00000"),
    ],
)
def test_percent_is_truncated_to_five_decimals(hit: int, lines: int, expected: str) -> None:
    assert percent(hit, lines) == expected


def test_totals_count_lines_by_status() -> None:
    # Given a hit, a miss, a partial branch line and a method line
    counts = LineCounts.of([hits(2), hits(0), Coverage(1, Branches(1, 2)), Coverage(1, None, True)])

    totals = Totals.of([counts, LineCounts()], sessions=2)

    assert totals == Totals(
        files=1, lines=4, hits=2, misses=1, partials=1, coverage="50.00000", branches=1, methods=1, sessions=2
    )
    assert totals.to_dict() == {
        "files": 1,
        "lines": 4,
        "hits": 2,
        "misses": 1,
        "partials": 1,
        "coverage": "50.00000",
        "branches": 1,
        "methods": 1,
        "sessions": 2,
    }


def test_totals_of_nothing() -> None:
    totals = Totals.of([], sessions=0)
    assert (totals.files, totals.lines, totals.coverage) == (0, 0, "0")
