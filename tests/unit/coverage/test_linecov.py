"""The line merge rules: max hits, branch union, method flag, and a line's status."""

from __future__ import annotations

import pytest

from stream_app.coverage import Branches, Coverage, hits, merge


@pytest.mark.parametrize(
    ("coverage", "status"),
    [
        (hits(0), "miss"),
        (hits(3), "hit"),
        (Coverage(1, Branches(2, 2)), "hit"),
        (Coverage(1, Branches(1, 2)), "partial"),
        (Coverage(1, Branches(0, 2)), "partial"),  # the line ran, no branch did
        (Coverage(0, Branches(0, 2)), "miss"),
        (Coverage(0, Branches(1, 2)), "partial"),
        (Coverage(0, None, True), "miss"),
        (Coverage(2, None, True), "hit"),
    ],
)
def test_status_of_a_line(coverage: Coverage, status: str) -> None:
    assert coverage.status == status


def test_merge_takes_the_highest_hit_count() -> None:
    assert merge(hits(0), hits(5)) == hits(5)
    assert merge(hits(7), hits(2)) == hits(7)
    assert merge(hits(0), hits(0)).status == "miss"


def test_merge_unions_named_branches() -> None:
    # Given two sessions each missing a different one of two branches
    a = Coverage(1, Branches.from_missing(2, {"6"}))
    b = Coverage(1, Branches.from_missing(2, {"7"}))

    # Then together every branch ran
    merged = merge(a, b)
    assert merged.branches == Branches(2, 2, ())
    assert merged.status == "hit"


def test_merge_keeps_branches_missed_by_every_session() -> None:
    a = Coverage(1, Branches.from_missing(3, {"x", "y"}))
    b = Coverage(4, Branches.from_missing(3, {"y", "z"}))
    merged = merge(a, b)
    assert merged == Coverage(4, Branches(2, 3, ("y",)))
    assert merged.status == "partial"


def test_merge_of_unnamed_branches_keeps_the_best_counts() -> None:
    merged = merge(Coverage(1, Branches(1, 2)), Coverage(1, Branches(0, 4)))
    assert merged.branches == Branches(1, 4)


def test_merge_with_a_line_without_branches_keeps_the_branches() -> None:
    merged = merge(hits(3), Coverage(1, Branches(1, 2)))
    assert merged == Coverage(3, Branches(1, 2))
    assert merged.status == "partial"


def test_merge_keeps_a_method_line_a_method_line() -> None:
    assert merge(Coverage(0, None, True), hits(2)) == Coverage(2, None, True)


def test_merge_is_commutative_and_associative_on_named_branches() -> None:
    a = Coverage(1, Branches.from_missing(3, {"a", "b"}))
    b = Coverage(0, Branches.from_missing(3, {"a", "b", "c"}))
    c = Coverage(2, Branches.from_missing(3, {"b", "c"}), True)
    assert merge(a, b) == merge(b, a)
    assert merge(merge(a, b), c) == merge(a, merge(b, c))


def test_plain_counts_are_shared_instances() -> None:
    assert hits(1) is hits(1)
    assert hits(10**12).hits == 10**12
    assert hits(-3) == hits(0)
