"""Replay target offsets follow kafka-consumer-groups --reset-offsets: every target in [begin, end]."""

from __future__ import annotations

import pytest

from stream_app.ops.kafka_admin import OpsError
from stream_app.ops.replay import PartitionReset, ReplayReport, ResetSpec, compute_targets, parse_datetime_ms

BEGIN = {0: 0, 1: 5, 2: 10}
END = {0: 8, 1: 20, 2: 10}  # partition 2 is empty (all trimmed by retention)
COMMITTED = {0: 6, 1: 12}  # partition 2 never committed


def targets(spec: ResetSpec, by_time: dict[int, int | None] | None = None) -> dict[int, int]:
    return compute_targets(spec, begin=BEGIN, end=END, committed=COMMITTED, by_time=by_time)


def test_to_earliest_is_each_partitions_begin() -> None:
    assert targets(ResetSpec("earliest")) == {0: 0, 1: 5, 2: 10}


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(7, {0: 7, 1: 7, 2: 10}), (0, {0: 0, 1: 5, 2: 10}), (100, {0: 8, 1: 20, 2: 10})],
)
def test_to_offset_is_clamped_to_the_partition(offset: int, expected: dict[int, int]) -> None:
    assert targets(ResetSpec("offset", offset)) == expected


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        (-2, {0: 4, 1: 10, 2: 10}),
        (1, {0: 7, 1: 13, 2: 10}),
        (-100, {0: 0, 1: 5, 2: 10}),
        (100, {0: 8, 1: 20, 2: 10}),
    ],
)
def test_shift_by_moves_from_the_committed_offset_clamped(shift: int, expected: dict[int, int]) -> None:
    assert targets(ResetSpec("shift", shift)) == expected


def test_shift_by_without_a_commit_starts_from_begin() -> None:
    got = compute_targets(ResetSpec("shift", 3), begin={0: 2, 1: 0}, end={0: 9, 1: 1}, committed={})
    assert got == {0: 5, 1: 1}


def test_to_datetime_uses_the_time_index_and_end_when_nothing_is_that_late() -> None:
    assert targets(ResetSpec("datetime", 1), by_time={0: 3, 1: None, 2: None}) == {0: 3, 1: 20, 2: 10}


def test_to_datetime_offset_below_begin_is_clamped() -> None:
    assert targets(ResetSpec("datetime", 1), by_time={0: 3, 1: 2, 2: 10}) == {0: 3, 1: 5, 2: 10}


def test_parse_datetime_reads_zones_and_treats_naive_as_utc() -> None:
    assert parse_datetime_ms("1970-01-01T00:00:01Z") == 1000
    assert parse_datetime_ms("1970-01-01T00:00:01.5") == 1500
    assert parse_datetime_ms("1970-01-01T01:00:00+01:00") == 0
    with pytest.raises(OpsError, match="not an ISO 8601"):
        parse_datetime_ms("yesterday")


def test_report_lines() -> None:
    resets = [PartitionReset(0, 6, 0, 8, 6), PartitionReset(1, None, 5, 9, 0)]
    report = ReplayReport("t", "g.flush_repo", "topic", resets, 6, False)
    assert [line.split() for line in report.lines()[:-1]] == [
        ["partition", "old", "new", "end", "forgotten"],
        ["0", "6", "0", "8", "6"],
        ["1", "-", "5", "9", "0"],
    ]
    assert report.lines()[-1] == "6 ledger rows forgotten; offsets of group g.flush_repo committed"
    dry = ReplayReport("t", "g", "topic", [], 3, True)
    assert dry.lines()[-1] == "dry run: 3 ledger rows would be forgotten; nothing changed"
