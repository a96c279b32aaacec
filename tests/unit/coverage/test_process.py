"""parse_upload end to end: formats, path fixing, flags and the three error codes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from stream_app.coverage import (
    REPORT_EMPTY,
    UNKNOWN_FORMAT,
    ReportError,
    parse_upload,
    parse_upload_file,
)
from tests.unit.coverage.support import read_fixture

LCOV = b"SF:/ci/src/a.py\nDA:1,1\nDA:2,0\nend_of_record\n"


def _error(raw: bytes) -> str:
    with pytest.raises(ReportError) as caught:
        parse_upload(raw, session_id=0)
    return caught.value.code


def test_a_real_uploader_bundle_becomes_one_partial_report() -> None:
    # Given the Codecov Node uploader's bundle of a coverage.py XML and an nyc lcov report
    raw = read_fixture("bundle/codecov-node-3.8.3.txt")

    partial = parse_upload(raw, session_id=2, flags=["unit"])

    # Then both reports are in, matched against the bundle's file list (shapes/__init__.py has no lines)
    assert set(partial.files) == {"shapes/geometry.py", "pricing.js"}
    assert partial.session.id == 2
    assert partial.session.flags == ("unit",)
    assert dict(partial.session.extra) == {"OS": "linux", "PYVER": "3.11"}
    # coverage.xml says lines-valid=22 lines-covered=16; lcov says LF 9 + FNF 3, LH 5 + FNH 2
    totals = partial.totals()
    assert (totals.files, totals.lines, totals.hits + totals.partials) == (2, 22 + 12, 16 + 7)


def test_gzipped_upload_gives_the_same_result() -> None:
    raw = read_fixture("bundle/codecov-node-3.8.3.txt")
    assert parse_upload(gzip.compress(raw), session_id=0) == parse_upload(raw, session_id=0)


def test_upload_from_a_file_gives_the_same_result(tmp_path: Path) -> None:
    raw = read_fixture("bundle/codecov-node-3.8.3.txt")
    (tmp_path / "upload.gz").write_bytes(gzip.compress(raw))
    assert parse_upload_file(tmp_path / "upload.gz", session_id=0) == parse_upload(raw, session_id=0)


def test_fixes_ignore_and_repo_files_apply() -> None:
    raw = LCOV + b"SF:/ci/tests/test_a.py\nDA:1,1\nend_of_record\nSF:/ci/gen/x.py\nDA:1,1\nend_of_record\n"

    partial = parse_upload(
        raw, session_id=0, fixes=["ci/::"], ignore=["tests/**"], repo_files=["src/a.py", "tests/test_a.py"]
    )

    assert set(partial.files) == {"src/a.py"}


def test_the_bundle_file_list_wins_over_repo_files() -> None:
    raw = b"lib/a.py\n<<<<<< network\n" + LCOV.replace(b"/ci/src/", b"/ci/lib/")
    assert set(parse_upload(raw, session_id=0, repo_files=["src/a.py"]).files) == {"lib/a.py"}


def test_the_same_file_in_two_reports_of_one_upload_is_merged() -> None:
    raw = LCOV + b"<<<<<< EOF\n" + b"SF:src/a.py\nDA:2,3\nDA:3,0\nend_of_record\n"
    partial = parse_upload(raw, session_id=0)
    assert {n: c.hits for n, c in partial.lines("ci/src/a.py")} == {1: 1, 2: 0}
    assert {n: c.hits for n, c in partial.lines("src/a.py")} == {2: 3, 3: 0}
    merged = parse_upload(raw, session_id=0, repo_files=["src/a.py"])
    assert {n: c.hits for n, c in merged.lines("src/a.py")} == {1: 1, 2: 3, 3: 0}


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02\x03binary\xff\xfe junk",
        b"hello world\nthis is not coverage\n",
        b'{"some": "json", "but": ["not", "coverage"]}',
        b"[1, 2, 3]",
        b"<html><body>not found</body></html>",
    ],
)
def test_garbage_is_an_unknown_format(garbage: bytes) -> None:
    assert _error(garbage) == UNKNOWN_FORMAT


def test_an_unknown_or_empty_file_next_to_a_known_report_is_skipped() -> None:
    raw = b"# path=notes.txt\njust some text\n<<<<<< EOF\n# path=cov.json\n{}\n<<<<<< EOF\n# path=lcov.info\n" + LCOV
    assert parse_upload(raw, session_id=0).totals().lines == 2


@pytest.mark.parametrize(
    "empty",
    [
        b"",
        b"   \n\n",
        b"src/a.py\n<<<<<< network\n",
        b"A=1\n<<<<<< ENV\nsrc/a.py\n<<<<<< network\n\n<<<<<< EOF\n",
        b'<?xml version="1.0"?><coverage><packages/></coverage>',
        b"mode: count\n",
        b"{}",  # nyc with nothing instrumented
        b'{"meta": {"format": 3}, "files": {}, "totals": {}}',
    ],
)
def test_an_upload_without_coverage_is_report_empty(empty: bytes) -> None:
    assert _error(empty) == REPORT_EMPTY


def test_files_all_dropped_by_path_rules_is_report_empty() -> None:
    with pytest.raises(ReportError) as caught:
        parse_upload(LCOV, session_id=0, repo_files=["other.py"])
    assert caught.value.code == REPORT_EMPTY


@pytest.mark.parametrize(
    "corrupt",
    [
        b'{"meta": ',
        b'{"/a.js": {"statementMap": {"0": 5}, "s": {}}}',
        b'{"RSpec": {"coverage": {"/a.rb": {"lines": 3}}}}',
    ],
    ids=["truncated json", "istanbul wrong shape", "simplecov wrong shape"],
)
def test_broken_json_is_a_corrupt_report(corrupt: bytes) -> None:
    assert _error(corrupt) == "corrupt_report"
