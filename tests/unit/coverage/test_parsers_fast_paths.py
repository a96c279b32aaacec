"""The parsers' fast paths read a report exactly as their plain line-by-line reading does.

LCOV records are read in bulk when every line is plain and line by line otherwise; line
formats are read in chunks of whole lines; XML lines are dropped from the tree in batches;
lines with branches are shared instances. None of that may show in what a parse yields.
"""

from __future__ import annotations

import io
import random
from types import ModuleType

import pytest

from stream_app.coverage import CORRUPT_REPORT, Branches, Coverage, ReportError, hits
from stream_app.coverage.parsers import base, parse_report, xmlrun
from stream_app.coverage.parsers import clover as clover_parser
from stream_app.coverage.parsers import cobertura as cobertura_parser
from stream_app.coverage.parsers import jacoco as jacoco_parser
from stream_app.coverage.parsers.base import FileCoverage, SharedLines, text_chunks
from tests.unit.coverage.support import pure_python


def _parse(raw: bytes) -> list[tuple[str, dict[int, Coverage]]]:
    _, files = parse_report(raw)
    return [(file.path, dict(file.lines)) for file in files]


def _read_line_by_line(module: ModuleType, raw: bytes) -> list[tuple[str, dict[int, Coverage]]]:
    return [(file.path, dict(file.lines)) for file in module.parse(io.BytesIO(raw))]


def _lcov_record(rnd: random.Random, path: str) -> list[str]:
    lines = [f"SF:{path}"]
    for start in range(1, 60, 15):
        lines += [f"FN:{start},f{start}", f"FNDA:{rnd.randint(0, 3)},f{start}"]
    for n in range(1, 60):
        lines.append(f"DA:{n},{rnd.choice([0, 1, 2, 255, 256, 10**6])}")
        if n % 7 == 0:
            lines += [
                f"BRDA:{n},0,0,{rnd.choice(['-', '0', '1', '12'])}",
                f"BRDA:{n},0,1,{rnd.choice(['-', '0', '3'])}",
            ]
        if n % 13 == 0:
            lines.append(f"DA:{n},{rnd.randint(0, 300)}")  # stated twice
    lines += ["LF:59", "LH:40", "end_of_record"]
    return lines


@pytest.mark.parametrize("seed", range(5))
def test_lcov_records_read_in_bulk_equal_records_read_line_by_line(seed: int) -> None:
    rnd = random.Random(seed)
    records = [_lcov_record(rnd, f"src/f{i}.c") for i in range(8)]
    plain = "\n".join(line for record in records for line in record) + "\n"
    # A blank after each DA line: the same numbers to int(), but no longer a plain record.
    spaced = "\n".join(line + " " if line.startswith("DA:") else line for record in records for line in record)

    assert _parse(plain.encode()) == _parse(spaced.encode())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("FN:5,f", " FN:3,f"),  # the later FN line wins, whichever path reads it
        (" FN:5,f", "FN:3,f"),
        ("BRDA:1,0,0,1", " BRDA:1,0,0,-"),
        (" BRDA:1,0,0,1", "BRDA:1,0,0,-"),
        ("FNL:0,3", "FN:5,#0"),
        ("FN:5,#0", "FNL:0,3"),
    ],
)
def test_lcov_keeps_the_order_of_lines_that_fill_the_same_place(first: str, second: str) -> None:
    raw = f"SF:a.c\n{first}\n{second}\nFNA:0,2,x\nDA:1,1\nDA:3,1\nDA:5,1\nend_of_record\n".encode()
    reversed_raw = f"SF:a.c\n{second}\n{first}\nFNA:0,2,x\nDA:1,1\nDA:3,1\nDA:5,1\nend_of_record\n".encode()
    line_by_line = raw.replace(b"DA:1,1\n", b"DA:1,1 \n")
    reversed_line_by_line = reversed_raw.replace(b"DA:1,1\n", b"DA:1,1 \n")

    assert _parse(raw) == _parse(line_by_line)
    assert _parse(reversed_raw) == _parse(reversed_line_by_line)


def test_lcov_odd_records_next_to_plain_ones() -> None:
    raw = (
        b"SF:a.c\nDA:1,1\nDA:0,2\nDA:1,5\nend_of_record\n"
        b"SF:b.c\nDA:1,1,checksum\nDA:2,3.0\n"  # no end_of_record: dropped by the next SF
        b"SF:c.c\nDA:07,1\nBRDA:7,0,0,-\nend_of_record\n"
        b"SF:d.c\nFN:3,f\nend_of_record\n"
        b"TN:x\nDA:9,9\n"
        b"SF:e.c\nDA:1,1"
    )
    expected = [
        ("a.c", {1: hits(5)}),  # the C scanner's table holds no line 0 (PartialReport drops it anyway)
        ("c.c", {7: Coverage(1, Branches(0, 1, ("0:0",)))}),
        ("d.c", {3: Coverage(0, None, True)}),
        ("e.c", {1: hits(1)}),
    ]
    assert _parse(raw) == expected
    with pure_python():
        assert _parse(raw) == [("a.c", {1: hits(5), 0: hits(2)}), *expected[1:]]


def test_lcov_error_in_a_record_read_in_bulk_is_still_corrupt_report() -> None:
    with pytest.raises(ReportError) as error:
        _parse(b"SF:a.c\nDA:1,1\nBRDA:x,0,0,1\nend_of_record\n")
    assert error.value.code == CORRUPT_REPORT


def _lcov(rnd: random.Random) -> bytes:
    return ("\n".join(line for i in range(30) for line in _lcov_record(rnd, f"f{i}.c")) + "\n").encode()


def _gcov(rnd: random.Random) -> bytes:
    rows = ["        -:    0:Source:src/big.c", "        -:    0:Runs:1"]
    for n in range(1, 2000):
        if n % 40 == 1:
            rows.append(f"function f{n} called {rnd.randint(0, 3)} returned 100% blocks executed 80%")
        rows.append(f"{rnd.choice(['-', '#####', '1', '7*', '1.2k', '300'])!s:>9}:{n:>5}:    x += {n};")
        if n % 9 == 0:
            rows += ["branch  0 taken 50% (fallthrough)", "branch  1 never executed", "branch  2 taken 3"]
    return ("\n".join(rows) + "\n").encode()


def _go(rnd: random.Random) -> bytes:
    rows = ["mode: count"]
    for f in range(20):
        for n in range(1, 200, 3):
            end, column, count = n + rnd.choice([0, 2, 3]), rnd.choice([1, 2, 9]), rnd.randint(0, 300)
            rows.append(f"example.com/m/f{f % 7}.go:{n}.2,{end}.{column} 1 {count}")
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("make", [_lcov, _gcov, _go], ids=["lcov", "gcov", "go"])
@pytest.mark.parametrize("chunk_size", [7, 100, 4096])
def test_line_formats_read_the_same_in_any_chunk_size(
    make: object, chunk_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = make(random.Random(chunk_size))  # type: ignore[operator]
    whole = _parse(raw)
    monkeypatch.setattr(base, "CHUNK_SIZE", chunk_size)
    assert _parse(raw) == whole
    assert _parse(raw.rstrip(b"\n")) == whole  # a last line without its newline
    assert _parse(raw.replace(b"\n", b"\r\n")) == whole


def test_go_blocks_spanning_one_line_twice_become_branches() -> None:
    raw = b"mode: count\na.go:1.1,3.3 1 4\na.go:3.5,3.9 1 0\nb.go:1.1,1.9 1 1\na.go:0.1,0.5 1 1\nc.go:5.1,3.4 1 1\n"
    assert _parse(raw) == [
        ("a.go", {1: hits(4), 2: hits(4), 3: Coverage(4, Branches(1, 2, ("3.5",)))}),
        ("b.go", {1: hits(1)}),
        ("a.go", {}),  # only line 0: the file is there, its line is not
    ]


def test_text_chunks_give_the_stream_s_lines() -> None:
    rnd = random.Random(3)
    for _ in range(2000):
        data = bytes(rnd.choice(b"ab\n") for _ in range(rnd.randrange(0, 60)))
        size = rnd.randrange(1, 9)
        chunks = list(text_chunks(io.BytesIO(data), b"b\n", size))
        assert b"".join(chunks) == data
        assert all(chunk.endswith(b"\n") for chunk in chunks[:-1])


def test_text_chunks_join_a_long_line_once() -> None:
    data = b"x" * 100_000 + b"\n" + b"y" * 5000 + b"\n"
    assert list(text_chunks(io.BytesIO(data), size=1000)) == [b"x" * 100_000 + b"\n", b"y" * 5000 + b"\n"]


def _xml_lines(count: int) -> tuple[bytes, bytes, bytes]:
    cobertura = "".join(
        f'<line number="{n % 700 + 1}" hits="{n % 5}" branch="true" condition-coverage="50% (1/2)" '
        f'missing-branches="{n % 3}"/>'
        if n % 10 == 0
        else f'<line number="{n % 700 + 1}" hits="{n % 300}"/>'
        for n in range(count)
    )
    jacoco = "".join(f'<line nr="{n % 700 + 1}" mi="0" ci="{n % 3}" mb="{n % 2}" cb="{n % 3}"/>' for n in range(count))
    clover = "".join(
        f'<line num="{n % 700 + 1}" type="{("stmt", "cond", "method")[n % 3]}" count="{n % 300}" truecount="{n % 2}" '
        'falsecount="1"/>'
        for n in range(count)
    )
    return cobertura.encode(), jacoco.encode(), clover.encode()


def test_xml_files_longer_than_a_batch_read_as_without_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    cobertura, jacoco, clover = _xml_lines(2000)
    docs = {
        cobertura_parser: b'<coverage><packages><package><classes><class filename="a.py"><methods><method name="f">'
        b"<lines>" + cobertura + b"</lines></method></methods><lines>" + cobertura + b"</lines></class>"
        b'<class filename="b.py"><lines>' + cobertura + b"</lines></class></classes></package></packages></coverage>",
        jacoco_parser: b'<report name="r"><package name="p"><class name="p/A" sourcefilename="A.java"><method name="m" '
        b'desc="()V" line="5"/></class><sourcefile name="A.java">' + jacoco + b"</sourcefile></package></report>",
        clover_parser: b'<coverage><project><file name="a.php">' + clover + b"</file></project></coverage>",
    }
    # the per-line readers (read_in_bulk's reference); parse_report reads these in bulk
    batched = {module: _read_line_by_line(module, doc) for module, doc in docs.items()}
    for module, doc in docs.items():
        assert _parse(doc) == batched[module], module.__name__
        monkeypatch.setattr(module, "BATCH", 10**9)  # the readers' own batch check
        monkeypatch.setattr(xmlrun, "BATCH", 10**9)  # the shared line-run loop
        assert _read_line_by_line(module, doc) == batched[module], module.__name__
        assert all(sorted(lines) == list(range(1, 701)) for _, lines in batched[module])
    assert [path for path, _ in batched[cobertura_parser]] == ["a.py", "b.py"]
    assert batched[cobertura_parser][0][1][1].method  # the lowest line of the method


def test_shared_lines_equal_fresh_ones_and_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "SHARED_LIMIT", 4)
    shared = SharedLines()
    for count in range(10):
        line = shared.named(count, 3, ("b", "a"))
        assert line == Coverage(count, Branches.from_missing(3, ("a", "b")))
        assert shared.named(count, 3, ("b", "a")) is line
        assert shared.counted(count, 1, 2) == Coverage(count, Branches(1, 2))
    assert len(shared._named) <= 4 and len(shared._counted) <= 4


def test_method_lines_merge_as_before() -> None:
    file = FileCoverage("a", {1: hits(3), 2: Coverage(1, Branches(1, 2)), 3: Coverage(5, None, True)})
    for number, count in ((1, 2), (2, 4), (3, 1), (4, -1), (0, 1), (5, 300)):
        file.mark_method(number, count)
    assert file.lines == {
        1: Coverage(3, None, True),
        2: Coverage(4, Branches(1, 2), True),
        3: Coverage(5, None, True),
        4: Coverage(0, None, True),
        5: Coverage(300, None, True),
    }


@pytest.mark.parametrize(
    "raw",
    [
        b'{"meta": {}, "files": {"a.py": {"executed_lines": [1]}}}',
        b'\xef\xbb\xbf{"meta": {}, "files": {"a.py": {"executed_lines": [1]}}}',
        '{"meta": {}, "files": {"a.py": {"executed_lines": [1]}}}'.encode("utf-16-le"),
        '{"meta": {}, "files": {"a.py": {"executed_lines": [1]}}}'.encode("utf-32-le"),
    ],
)
def test_json_in_any_encoding_json_loads_reads(raw: bytes) -> None:
    assert _parse(raw) == [("a.py", {1: hits(1)})]
