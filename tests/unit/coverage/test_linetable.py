"""The compact per-file store of a partial report gives back exactly what went in."""

from __future__ import annotations

from stream_app.coverage import Branches, Coverage, hits
from stream_app.coverage.linetable import LineTable

LINES = {
    9: hits(0),
    2: hits(3),
    5: Coverage(1, Branches(1, 2)),
    7: Coverage(0, Branches.from_missing(2, {"a", "b"}), True),
    3: Coverage(4, None, True),
    4: hits(2**40),  # above the plain array's range
    6: Coverage(2, Branches(2, 2, ())),
    0: hits(1),  # not a line number: dropped
    -4: hits(1),
}


def test_lines_come_back_in_order_and_unchanged() -> None:
    table = LineTable.from_mapping(LINES)

    assert list(table.items()) == sorted((n, c) for n, c in LINES.items() if n > 0)
    assert len(table) == 7
    assert table.get(7) == LINES[7]
    assert table.get(2) == hits(3)
    assert table.get(8) is None


def test_counts_match_line_statuses() -> None:
    counts = LineTable.from_mapping(LINES).counts()
    assert (counts.lines, counts.hits, counts.misses, counts.partials) == (7, 4, 2, 1)
    assert (counts.branches, counts.methods) == (3, 2)


def test_merging_more_lines_of_the_same_session() -> None:
    table = LineTable.from_mapping({1: hits(0), 2: Coverage(1, Branches.from_missing(2, {"x"}))})

    merged = table.merged_with({1: hits(2), 2: Coverage(1, Branches.from_missing(2, {"y"})), 3: hits(0)})

    assert dict(merged.items()) == {1: hits(2), 2: Coverage(1, Branches(2, 2, ())), 3: hits(0)}
    assert merged != table
