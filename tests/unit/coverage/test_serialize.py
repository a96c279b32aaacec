"""Compact JSON for reports and partial reports: exact round trips and a small size."""

from __future__ import annotations

import json

import pytest

from stream_app.coverage import (
    Branches,
    Coverage,
    PartialReport,
    Report,
    Session,
    dump_partial,
    dump_report,
    hits,
    load_partial,
    load_report,
)
from stream_app.coverage.serialize import decode_coverage, encode_coverage
from tests.unit.coverage.support import parse_fixture

ODD_LINES = {
    1: hits(0),
    2: hits(2**40),
    3: Coverage(1, Branches(1, 2)),
    4: Coverage(1, Branches.from_missing(3, {"b", "a"})),
    5: Coverage(0, None, True),
    6: Coverage(3, Branches(2, 2, ()), True),
    7: Coverage(0, Branches.from_missing(2, {"exit", "-1"}), True),
}


@pytest.mark.parametrize("coverage", list(ODD_LINES.values()))
def test_every_kind_of_coverage_survives_encoding(coverage: Coverage) -> None:
    assert decode_coverage(json.loads(json.dumps(encode_coverage(coverage)))) == coverage


def test_encoding_is_compact() -> None:
    assert encode_coverage(hits(5)) == 5
    assert encode_coverage(Coverage(1, Branches(1, 2))) == [1, 1, 2]
    assert encode_coverage(Coverage(1, Branches.from_missing(2, {"6"}))) == [1, 1, 2, ["6"]]
    assert encode_coverage(Coverage(2, None, True)) == ["m", 2]


def _report() -> Report:
    report = Report()
    first = PartialReport(Session(0, ("unit",), name="py3.11", build="42", extra=(("OS", "linux"),)))
    first.add_file("src/ünïcode.py", ODD_LINES)
    second = PartialReport(Session(1, ("integration", "slow"), provider="github-actions", job="7"))
    second.add_file("src/ünïcode.py", {1: hits(1), 4: Coverage(2, Branches.from_missing(3, {"a"}))})
    second.add_file("b.py", {10: hits(0)})
    report.merge_partial(first)
    report.merge_partial(second)
    return report


def test_report_round_trip_is_exact() -> None:
    report = _report()

    blob = dump_report(report)

    assert isinstance(blob, bytes)
    assert load_report(blob) == report
    assert dump_report(load_report(blob)) == blob


def test_report_rows_are_line_merged_then_sessions() -> None:
    doc = json.loads(dump_report(_report()))
    assert doc["files"]["b.py"] == [[10, 0, [1, 0]]]
    assert doc["files"]["src/ünïcode.py"][0] == [1, 1, [0, 0], [1, 1]]
    assert [s["id"] for s in doc["sessions"]] == [0, 1]


def test_partial_round_trip_is_exact() -> None:
    partial = parse_fixture("jacoco/jacoco.xml", session_id=4, flags=("java",))

    blob = dump_partial(partial)

    assert load_partial(blob) == partial
    assert dump_partial(load_partial(blob)) == blob


def test_serialised_partial_is_small() -> None:
    partial = PartialReport(Session(0))
    partial.add_file("src/big.py", {n: hits(n % 3) for n in range(1, 10_001)})
    # about 8 bytes per plain line: "[1234,1],"
    assert len(dump_partial(partial)) < 10_001 * 10


def test_loading_something_else_fails() -> None:
    with pytest.raises(ValueError, match=r"stream_app\.report"):
        load_report(b'{"format": "other"}')
    with pytest.raises(ValueError, match=r"stream_app\.partial"):
        load_partial(dump_report(Report()))
