"""The uploader's bundle: markers, env, file list, gzip, bare reports, and reading from a file."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from stream_app.coverage import CORRUPT_REPORT, ReportError, open_bundle, read_bundle
from tests.unit.coverage.support import read_fixture

BUNDLE = b"""OS=linux
PYVER=3.11
<<<<<< ENV
src/a.py
./src/b.py
<<<<<< network
# path=coverage.xml
<coverage><packages/></coverage>
<<<<<< EOF
# path=lcov.info
SF:src/a.py
DA:1,1
end_of_record
<<<<<< EOF
"""


def test_sections_are_split_by_their_end_markers() -> None:
    bundle = read_bundle(BUNDLE)

    assert bundle.env == {"OS": "linux", "PYVER": "3.11"}
    assert bundle.file_list == ("src/a.py", "./src/b.py")
    assert [r.name for r in bundle.reports] == ["coverage.xml", "lcov.info"]
    assert bytes(bundle.reports[0].data) == b"<coverage><packages/></coverage>\n"
    assert bundle.reports[1].open().read() == b"SF:src/a.py\nDA:1,1\nend_of_record\n"


def test_file_list_and_env_may_come_in_any_order_or_not_at_all() -> None:
    swapped = read_bundle(b"src/a.py\n<<<<<< network\nA=1\n<<<<<< ENV\nmode: set\nx.go:1.1,2.2 1 1\n<<<<<< EOF\n")
    assert (swapped.file_list, swapped.env) == (("src/a.py",), {"A": "1"})
    assert [bytes(r.data) for r in swapped.reports] == [b"mode: set\nx.go:1.1,2.2 1 1\n"]

    no_list = read_bundle(b"# path=a.info\nSF:a\n<<<<<< EOF")
    assert no_list.file_list is None
    assert no_list.env == {}


def test_a_bare_report_is_a_bundle_of_one() -> None:
    raw = read_fixture("jacoco/jacoco.xml")

    bundle = read_bundle(raw)

    assert bundle.file_list is None
    assert len(bundle.reports) == 1
    assert bundle.reports[0].name is None
    assert bytes(bundle.reports[0].data) == raw


def test_trailing_report_without_eof_marker_is_kept_and_blank_sections_are_dropped() -> None:
    bundle = read_bundle(b"a.py\n<<<<<< network\n\n\n<<<<<< EOF\n# path=x\nSF:a.py\nDA:1,0\n")
    assert [(r.name, bytes(r.data)) for r in bundle.reports] == [("x", b"SF:a.py\nDA:1,0\n")]


def test_markers_must_be_whole_lines_and_crlf_is_accepted() -> None:
    bundle = read_bundle(b"a.py\r\n<<<<<< network\r\nTN: see <<<<<< EOF in text\r\nSF:a.py\r\n<<<<<< EOF\r\n")
    assert bundle.file_list == ("a.py",)
    assert len(bundle.reports) == 1
    assert b"see <<<<<< EOF in text" in bytes(bundle.reports[0].data)


def test_gzip_is_recognised_by_magic_bytes() -> None:
    bundle = read_bundle(gzip.compress(BUNDLE))
    assert bundle.file_list == ("src/a.py", "./src/b.py")
    assert len(bundle.reports) == 2


def test_a_real_codecov_uploader_bundle() -> None:
    # made by Codecov's Node uploader 3.8.3 with --dump (see the fixtures README)
    bundle = read_bundle(read_fixture("bundle/codecov-node-3.8.3.txt"))

    assert bundle.env == {"OS": "linux", "PYVER": "3.11"}
    assert bundle.file_list == (
        "coverage.xml",
        "lcov.info",
        "pricing.js",
        "run.py",
        "shapes/__init__.py",
        "shapes/geometry.py",
    )
    assert [r.name for r in bundle.reports] == ["/tmp/fx/bundle/coverage.xml", "/tmp/fx/bundle/lcov.info"]
    assert bytes(bundle.reports[0].data).startswith(b'<?xml version="1.0" ?>')
    assert bytes(bundle.reports[1].data).startswith(b"TN:\nSF:pricing.js")


def test_reports_are_views_into_the_upload_not_copies() -> None:
    raw = bytearray(BUNDLE)
    bundle = read_bundle(raw)
    at = raw.index(b"<coverage>")
    raw[at + 1 : at + 2] = b"C"
    assert bytes(bundle.reports[0].data).startswith(b"<Coverage>")


def test_open_bundle_reads_plain_and_gzipped_files(tmp_path: Path) -> None:
    plain, zipped, empty = tmp_path / "upload.txt", tmp_path / "upload.gz", tmp_path / "empty"
    plain.write_bytes(BUNDLE)
    zipped.write_bytes(gzip.compress(BUNDLE))
    empty.write_bytes(b"")

    for path in (plain, zipped):
        with open_bundle(path) as bundle:
            assert bundle.file_list == ("src/a.py", "./src/b.py")
            assert [r.open().read()[:2] for r in bundle.reports] == [b"<c", b"SF"]
    with open_bundle(empty) as bundle:
        assert bundle.reports == []


def test_a_gzip_bomb_is_a_corrupt_report(tmp_path: Path) -> None:
    bomb = gzip.compress(b"\n" * (4 * 1024 * 1024))  # 4 MB of newlines in a few KB
    (tmp_path / "bomb.gz").write_bytes(bomb)

    attempts: tuple[Callable[[], object], ...] = (
        lambda: read_bundle(bomb, max_inflated=1024 * 1024),
        lambda: open_bundle(tmp_path / "bomb.gz", max_inflated=1024 * 1024).__enter__(),
    )
    for attempt in attempts:
        with pytest.raises(ReportError) as caught:
            attempt()
        assert caught.value.code == CORRUPT_REPORT


def test_a_broken_gzip_stream_is_a_corrupt_report() -> None:
    with pytest.raises(ReportError) as caught:
        read_bundle(gzip.compress(BUNDLE)[:-12])
    assert caught.value.code == CORRUPT_REPORT
