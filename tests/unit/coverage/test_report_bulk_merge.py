"""Report.merge_partials gives exactly what merging the partials one by one gives."""

from __future__ import annotations

import random

import pytest

from stream_app.coverage import Branches, Coverage, PartialReport, Report, Session, dump_report, hits
from tests.unit.coverage.support import parse_fixture


def one_by_one(partials: list[PartialReport], report: Report | None = None) -> Report:
    report = report if report is not None else Report()
    for partial in partials:
        report.merge_partial(partial)
    return report


def at_once(partials: list[PartialReport], report: Report | None = None) -> Report:
    report = report if report is not None else Report()
    report.merge_partials(partials)
    return report


def random_coverage(rng: random.Random) -> Coverage:
    kind = rng.random()
    if kind < 0.6:
        return hits(rng.choice([0, 0, 1, 2, 7, 300]))
    if kind < 0.8:  # named missing branches: merged by intersection
        return Coverage(rng.randint(0, 3), Branches.from_missing(2, set(rng.sample(["a", "b"], rng.randint(0, 2)))))
    if kind < 0.9:  # counted branches, different totals
        total = rng.randint(1, 4)
        return Coverage(rng.randint(0, 3), Branches(rng.randint(0, total), total))
    return Coverage(rng.randint(0, 3), None, method=True)


def random_partial(rng: random.Random, session_id: int) -> PartialReport:
    partial = PartialReport(Session(session_id, (rng.choice(["unit", "integration"]),)))
    for path in rng.sample(["a.py", "b.py", "c/d.py", "e.go"], rng.randint(1, 4)):
        partial.add_file(path, {n: random_coverage(rng) for n in rng.sample(range(1, 60), rng.randint(1, 40))})
    return partial


@pytest.mark.parametrize("seed", range(25))
def test_random_sessions_merge_to_the_same_report(seed: int) -> None:
    rng = random.Random(seed)
    partials = [random_partial(rng, session_id) for session_id in rng.sample(range(40), rng.randint(1, 20))]

    expected, got = one_by_one(partials), at_once(partials)

    assert got == expected
    assert got.totals() == expected.totals()
    assert dict(got.file_totals()) == dict(expected.file_totals())
    assert list(got.sessions) == list(expected.sessions)  # session order is what dump_report writes


@pytest.mark.parametrize("seed", range(10))
def test_merging_into_a_report_that_has_some_of_the_sessions_replaces_them(seed: int) -> None:
    """A finisher whose transaction rolled back merges the same uploads again into the written report."""
    rng = random.Random(1000 + seed)
    earlier = [random_partial(rng, session_id) for session_id in range(6)]
    again = [random_partial(rng, session_id) for session_id in (2, 4, 7, 8)]  # 2 and 4 replace, 7 and 8 add

    expected = one_by_one(again, one_by_one(earlier))
    got = at_once(again, at_once(earlier))

    assert got == expected
    assert got.totals() == expected.totals()


def test_one_session_twice_in_one_call_follows_the_one_by_one_rules() -> None:
    first = PartialReport(Session(1, ()), {})
    first.add_file("a.py", {1: hits(5)})
    second = PartialReport(Session(1, ()), {})
    second.add_file("a.py", {2: hits(0)})

    got = at_once([first, second])

    assert got == one_by_one([first, second])
    assert set(got.files["a.py"].lines) == {2}  # the later one replaced the earlier


def test_real_tool_reports_merge_to_the_same_report() -> None:
    partials = [
        parse_fixture("coveragepy/coverage.xml", session_id=0, flags=("unit",)),
        parse_fixture("coveragepy/coverage.json", session_id=1, flags=("unit",)),
        parse_fixture("coveragepy/coverage_other.xml", session_id=2, flags=("integration",)),
        parse_fixture("gcov/calc.c.gcov", session_id=3, flags=("c",)),
    ]
    expected, got = one_by_one(partials), at_once(partials)
    assert got == expected
    assert dump_report(got) == dump_report(expected)
