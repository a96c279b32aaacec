"""Merging partial reports into a commit report, flag totals, and idempotent re-merge."""

from __future__ import annotations

import json

from stream_app.coverage import Branches, Coverage, PartialReport, Report, Session, hits
from tests.unit.coverage.support import FIXTURES, parse_fixture


def _partial(session_id: int, flags: tuple[str, ...], files: dict[str, dict[int, Coverage]]) -> PartialReport:
    partial = PartialReport(Session(session_id, flags))
    for path, lines in files.items():
        partial.add_file(path, lines)
    return partial


def test_sessions_merge_line_by_line() -> None:
    # Given a unit session and an integration session on the same file
    unit = _partial(0, ("unit",), {"a.py": {1: hits(1), 2: hits(0), 3: Coverage(1, Branches.from_missing(2, {"x"}))}})
    integration = _partial(
        1,
        ("integration",),
        {"a.py": {2: hits(4), 3: Coverage(2, Branches.from_missing(2, {"y"}))}, "b.py": {1: hits(0)}},
    )

    # When the finisher merges them in session order
    report = Report()
    report.merge_partial(unit)
    report.merge_partial(integration)

    # Then a line covered by any session is covered, and branches are unioned
    a = report.files["a.py"].lines
    assert a[2].coverage == hits(4)
    assert a[2].sessions == ((0, hits(0)), (1, hits(4)))
    assert a[3].coverage == Coverage(2, Branches(2, 2, ()))
    totals = report.totals()
    assert (totals.files, totals.lines, totals.hits, totals.misses, totals.partials) == (2, 4, 3, 1, 0)
    assert totals.sessions == 2
    assert totals.coverage == "75.00000"


def test_totals_per_flag_only_count_that_flags_sessions() -> None:
    unit = _partial(0, ("unit",), {"a.py": {1: hits(1), 2: hits(0)}})
    integration = _partial(1, ("integration",), {"a.py": {2: hits(4)}, "b.py": {1: hits(0)}})
    report = Report()
    report.merge_partial(unit)
    report.merge_partial(integration)

    unit_totals = report.flag_totals("unit")
    integration_totals = report.flag_totals("integration")

    assert (unit_totals.files, unit_totals.lines, unit_totals.hits, unit_totals.sessions) == (1, 2, 1, 1)
    assert unit_totals.coverage == "50.00000"
    assert (integration_totals.files, integration_totals.lines, integration_totals.hits) == (2, 2, 1)
    assert report.flag_totals("nightly").lines == 0


def test_merging_the_same_session_twice_is_a_no_op() -> None:
    partial = _partial(3, (), {"a.py": {1: hits(1), 2: hits(0)}})
    report = Report()
    report.merge_partial(partial)
    before = report.totals()

    report.merge_partial(partial)

    assert report.totals() == before
    assert report.files["a.py"].lines[1].sessions == ((3, hits(1)),)


def test_a_re_processed_session_replaces_its_old_data() -> None:
    report = Report()
    report.merge_partial(_partial(0, (), {"a.py": {1: hits(1)}, "gone.py": {1: hits(1)}}))
    report.merge_partial(_partial(1, (), {"a.py": {2: hits(0)}}))

    report.merge_partial(_partial(0, (), {"a.py": {1: hits(0)}}))

    assert set(report.files) == {"a.py"}
    assert report.files["a.py"].lines[1].coverage == hits(0)
    assert report.totals().sessions == 2


def test_merging_two_real_coverage_py_runs_matches_coverage_combine() -> None:
    # Given the JSON reports of two separate runs, and coverage.py's own `coverage combine` of both
    expected = json.loads((FIXTURES / "coveragepy/coverage_combined.json").read_text())["totals"]

    for first, second in [
        ("coveragepy/coverage.json", "coveragepy/coverage_other.json"),
        ("coveragepy/coverage.xml", "coveragepy/coverage_other.xml"),
    ]:
        # When our finisher merges the two sessions
        report = Report()
        report.merge_partial(parse_fixture(first, session_id=0))
        report.merge_partial(parse_fixture(second, session_id=1))
        totals = report.totals()

        # Then lines, misses and partial lines agree with coverage.py's merge
        assert totals.lines == expected["num_statements"]
        assert totals.hits + totals.partials == expected["covered_lines"]
        assert totals.misses == expected["missing_lines"]
        assert totals.partials == expected["num_partial_branches"]
        merged = [line.coverage for f in report.files.values() for line in f.lines.values()]
        assert sum(c.branches.total for c in merged if c.branches) == expected["num_branches"]
        assert sum(c.branches.covered for c in merged if c.branches) == expected["covered_branches"]
