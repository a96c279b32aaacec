"""The C scanner of the line formats (_linescan) reads what the pure-Python readers read.

SimpleCov (JSON) files are read by it too, once json has loaded them.

Each report is parsed twice, with the scanner and without it (`pure_python`), and the two must
give the same files with the same lines (compared as LineTables, the form a PartialReport keeps)
or the same error. Reports: the fixtures of real tools, generated ones, and the same mutated
(bytes replaced, lines cut, CRLF, huge numbers, binary junk) in chunk sizes from tiny to large.
"""

from __future__ import annotations

import io
import json
import random
from array import array
from collections.abc import Callable
from types import ModuleType

import pytest

from stream_app.coverage import Report, ReportError, dump_partial, load_partial, parse_upload
from stream_app.coverage.linecov import Coverage
from stream_app.coverage.linetable import MAX_LINE, LineTable
from stream_app.coverage.parsers import base, gcov, golang, lcov, native, parse_report, simplecov
from stream_app.coverage.parsers.base import FileTable
from tests.unit.coverage.support import FIXTURES, pure_python

Parsed = list[tuple[str, list[tuple[int, Coverage]]]] | str


def test_the_c_scanner_is_built_and_used() -> None:
    """The suite fails where the extension was not built, so CI proves the C path runs."""
    from stream_app.coverage import _linescan

    assert native.scanner is _linescan
    go = b"mode: set\na.go:1.1,2.3 1 1\n"
    [go_file] = golang.parse(io.BytesIO(go))
    [lcov_file] = lcov.parse(io.BytesIO(b"SF:a\nDA:1,1\nend_of_record\n"))
    [gcov_file] = gcov.parse(io.BytesIO(b"-:0:Source:a\n1:1:x\n"))
    [simplecov_file] = simplecov.parse({"RSpec": {"coverage": {"a.rb": {"lines": [1, None, 0]}}}})
    assert all(isinstance(f, FileTable) for f in (go_file, lcov_file, gcov_file, simplecov_file))


def _table(lines: dict[int, Coverage] | LineTable) -> LineTable:
    return lines if isinstance(lines, LineTable) else LineTable.from_mapping(lines)


def _read(module: ModuleType, raw: bytes) -> Parsed:
    """Files as tables (empty ones left out: a PartialReport drops them), or the error."""
    try:
        files = list(module.parse(io.BytesIO(raw)))
    except ReportError as error:
        return f"{error.code}: {error}"
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:  # parse_report's corrupt_report
        return f"malformed: {error!r}"
    tables = [(f.path, _table(f.lines)) for f in files]
    return [(path, list(table.items())) for path, table in tables if len(table)]


def _both(module: ModuleType, raw: bytes) -> tuple[Parsed, Parsed]:
    native_result = _read(module, raw)
    with pure_python():
        return native_result, _read(module, raw)


def _same(module: ModuleType, raw: bytes, monkeypatch: pytest.MonkeyPatch, sizes: tuple[int, ...]) -> None:
    for size in sizes:
        monkeypatch.setattr(base, "CHUNK_SIZE", size)
        got, expected = _both(module, raw)
        assert got == expected, (module.__name__, size, raw[:300])


# --- generated reports ----------------------------------------------------------------------


def _go(rnd: random.Random) -> bytes:
    rows = ["mode: count"]
    numbers = [0, 1, 2, 3, 7, 255, 256, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 10**17, 10**18, 10**19, 10**30]
    overlap = rnd.random() < 0.3
    for f in range(rnd.randint(1, 6)):
        path = rnd.choice([f"example.com/m/f{f % 3}.go", f"C:\\src\\f{f}.go", f"a:b:{f}.go", "é.go"])
        for n in range(1, rnd.randint(2, 150), 3):
            start, end = n, n + rnd.choice([0, 1, 2, 3, 4] if overlap else [0, 1])
            if overlap and rnd.random() < 0.1:
                start, end = end, start  # out of order, or spanning nothing
            column = rnd.choice([1, 2, 3, 9])
            count = rnd.choice([0, 1, 5, 300]) if rnd.random() < 0.98 else rnd.choice(numbers)
            if rnd.random() < 0.005:
                start = rnd.choice(numbers)
            if rnd.random() < 0.003:
                end = start + rnd.choice([-5, 5000, 1_000_001])
            rows.append(f"{path}:{start}.2,{end}.{column} 1 {count}")
    return ("\n".join(rows) + "\n").encode()


def _lcov(rnd: random.Random) -> bytes:
    rows = []
    for f in range(rnd.randint(1, 6)):
        rows += ["TN:", f"SF:src/f{f % 4}.c"]
        for start in range(1, 40, rnd.randint(5, 15)):
            name = rnd.choice([f"f{start}", "g", "a b", "x:y"])
            rows += [f"FN:{start},{name}", f"FNDA:{rnd.choice([0, 1, 2, 2**40])},{name}"]
        for n in range(rnd.choice([0, 1]), rnd.randint(2, 60)):
            rows.append(f"DA:{n},{rnd.choice([0, 1, 2, 255, 256, 2**32 - 1, 2**32, 10**17])}")
            if rnd.random() < 0.005:
                rows.append(f"DA:{n},{rnd.choice([10**18, 10**19, -1])}")  # left to Python
            if n % 5 == 0:
                for b in range(rnd.randint(1, 3)):
                    block = rnd.choice(["0", "1", "e:x", ""])
                    rows.append(
                        f"BRDA:{n + rnd.choice([0, 0, 1])},{block},{b},{rnd.choice(['-', '0', '00', '1', '12'])}"
                    )
            if rnd.random() < 0.05:
                rows.append(f"DA:{n},{rnd.randint(0, 300)}")  # stated twice
        if rnd.random() < 0.05:
            rows += ["FNL:0,3,5", "FNA:0,2,g"]
        rows += ["LF:1", "LH:1", "BRF:1", "BRH:0", "FNF:1", "FNH:1"]
        if rnd.random() < 0.9:
            rows.append("end_of_record")
    return ("\n".join(rows) + "\n").encode()


def _gcov(rnd: random.Random) -> bytes:
    rows = ["        -:    0:Source:src/big.c", "        -:    0:Graph:big.gcno", "        -:    0:Runs:1"]
    n = 0
    for _ in range(rnd.randint(1, 300)):
        n += 1 if rnd.random() < 0.997 else rnd.choice([0, -3, 10**6])
        if rnd.random() < 0.05:
            rows.append(f"function f{n} called {rnd.choice([0, 1, 4, 2**40])} returned 100% blocks executed 80%")
        count = rnd.choice(["-", "#####", "=====", "1", "4", "7*", "300", "4294967296"])
        if rnd.random() < 0.002:
            count = rnd.choice(["1.2k", "$$$$$", "%%%%%", "10000000000000000000"])
        rows.append(f"{count:>9}:{max(n, 0):>5}:    x += {n};")
        if rnd.random() < 0.15:
            for b in range(rnd.choice([1, 2, 4, 12])):
                rows.append(
                    rnd.choice([f"branch {b:>2} taken {rnd.choice([0, 50, 100])}%", f"branch {b:>2} never executed"])
                )
            if rnd.random() < 0.3:
                rows.append("call    0 returned 100%")
        if rnd.random() < 0.003:
            rows += ["------------------", "_Z4signi:", "        -:    0:Source:other.c"]
    return ("\n".join(rows) + "\n").encode()


GENERATORS: dict[str, tuple[ModuleType, Callable[[random.Random], bytes]]] = {
    "go": (golang, _go),
    "lcov": (lcov, _lcov),
    "gcov": (gcov, _gcov),
}
JUNK = [b"\r", b"\r\n", b"\x00", b"\xff", b"\xc2\xa0", b"\xc2\x85", b"\xd9\xa3", b":", b"9", b" ", b"\t", b"\n",
        b"\x1c", b"\x0b", b",", b"-", b"*", b"999999999999999999999"]  # fmt: skip


def _mutated(rnd: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rnd.randint(1, 4)):
        at = rnd.randrange(len(data) + 1)
        kind = rnd.random()
        if kind < 0.6:
            data[at : at + rnd.randint(0, 2)] = rnd.choice(JUNK)
        elif kind < 0.8:
            del data[at:]
        else:
            data[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
    return bytes(data)


@pytest.mark.parametrize("fmt", list(GENERATORS))
@pytest.mark.parametrize("seed", range(12))
def test_generated_reports_read_the_same_with_and_without_c(
    fmt: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, make = GENERATORS[fmt]
    rnd = random.Random(seed)
    raw = make(rnd)
    _same(module, raw, monkeypatch, (1 << 20, rnd.randint(1, 40), rnd.randint(40, 2000)))
    _same(module, raw.replace(b"\n", b"\r\n"), monkeypatch, (1 << 20, 97))
    _same(module, raw.rstrip(b"\n"), monkeypatch, (1 << 20,))
    _same(module, b"", monkeypatch, (1 << 20,))


@pytest.mark.parametrize("fmt", list(GENERATORS))
@pytest.mark.parametrize("seed", range(40))
def test_mutated_reports_read_the_same_with_and_without_c(fmt: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    module, make = GENERATORS[fmt]
    rnd = random.Random(1000 + seed)
    raw = make(rnd)
    for _ in range(5):
        _same(module, _mutated(rnd, raw), monkeypatch, (1 << 20, rnd.randint(1, 300)))


def test_the_c_path_is_taken_for_regular_reports() -> None:
    """Generated reports without odd lines go through the scanner: no dict of lines at all."""
    go = b"mode: set\n" + b"".join(
        b"p/f%d.go:%d.2,%d.9 1 %d\n" % (f, n, n + 1, n % 4) for f in range(9) for n in range(1, 90, 3)
    )
    files = list(golang.parse(io.BytesIO(go)))
    assert len(files) == 9 and all(isinstance(f, FileTable) for f in files)
    records = b"".join(
        b"TN:\nSF:f%d.c\nFN:1,f\nFNDA:2,f\nDA:1,2\nDA:2,0\nBRDA:2,0,0,-\nBRDA:2,0,1,1\nLF:2\nend_of_record\n" % f
        for f in range(5)
    )
    files = list(lcov.parse(io.BytesIO(records)))
    assert len(files) == 5 and all(isinstance(f, FileTable) for f in files)
    overlapping = (FIXTURES / "go/coverage.out").read_bytes()  # blocks share lines: branches named by block
    files = list(golang.parse(io.BytesIO(overlapping)))
    assert files and all(isinstance(f, FileTable) for f in files)
    gcov_text = b"-:0:Source:a.c\n" + b"".join(b"%9d:%5d:x\nbranch 0 taken 1\n" % (n % 3, n) for n in range(1, 999))
    [gcov_file] = gcov.parse(io.BytesIO(gcov_text))
    assert isinstance(gcov_file, FileTable)


# --- fixtures of real tools, and the whole upload -----------------------------------------


@pytest.mark.parametrize(
    ("module", "relative"),
    [
        (golang, "go/coverage.out"),
        (lcov, "lcov/calc.lcov.info"),
        (lcov, "lcov/pricing.lcov.info"),
        (gcov, "gcov/calc.c.gcov"),
    ],
)
def test_fixtures_read_the_same_with_and_without_c(
    module: ModuleType, relative: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (FIXTURES / relative).read_bytes()
    got, expected = _both(module, raw)
    assert got == expected and isinstance(got, list) and got
    _same(module, raw, monkeypatch, (5, 64, 333))
    _same(module, raw.replace(b"\n", b"\r\n"), monkeypatch, (1 << 20, 50))
    upload = parse_upload(raw, session_id=1)
    with pure_python():
        assert parse_upload(raw, session_id=1) == upload


# --- the C functions themselves: tables in order, hostile input ------------------------------


def _check_table(table: tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, list[str]]) -> None:
    lines, xlines = array("i", table[0]), array("i", table[2])
    for numbers in (lines, xlines):
        assert list(numbers) == sorted(set(numbers)) and all(0 < n <= MAX_LINE for n in numbers)
    assert not set(lines) & set(xlines)
    LineTable.from_arrays(*table)  # the lengths agree


def test_c_tables_are_sorted_unique_and_in_range() -> None:
    scanner = native.scanner
    assert scanner is not None
    for seed in range(30):
        rnd = random.Random(seed)
        text = _lcov(rnd)
        for record in text.split(b"end_of_record\n"):
            body = record.partition(b"\n")[2].partition(b"SF:")[2].partition(b"\n")[2]
            if (table := scanner.lcov_record(body, 0, len(body))) is not None:
                _check_table(table)
        found = scanner.gcov_chunk(_gcov(rnd), True, -1, 0)
        if found is not None:
            _check_table(found[4])
        for _, numbers in scanner.go_runs(_go(rnd)) or []:
            if (table := scanner.go_table(numbers)) is not None:
                _check_table(table)


def test_c_functions_survive_any_bytes() -> None:
    scanner = native.scanner
    assert scanner is not None
    rnd = random.Random(7)
    for _ in range(3000):
        data = bytes(rnd.choice(b"0123456789:.,- \t\r\n\x00\xffSFDABRNLTHcalledfunctionbranchtaken#*")
                     for _ in range(rnd.randrange(0, 120)))  # fmt: skip
        scanner.go_runs(data)
        scanner.go_table(data)
        if len(data) % 48 == 0:
            scanner.go_table(data)
        scanner.lcov_record(data, 0, len(data))
        start = rnd.randrange(len(data) + 1)
        scanner.lcov_record(data, start, rnd.randrange(start, len(data) + 1))
        scanner.gcov_chunk(data, rnd.random() < 0.5, rnd.choice([-1, 0, 5]), rnd.choice([0, 3]))
    assert scanner.go_table(b"\x00" * 47) is None  # not whole blocks
    with pytest.raises(ValueError):
        scanner.lcov_record(b"abc", 2, 10)
    with pytest.raises(ValueError):
        scanner.lcov_record(b"abc", -1, 2)
    with pytest.raises(TypeError):
        scanner.go_runs("text")  # type: ignore[arg-type]
    assert scanner.go_runs(memoryview(b"a.go:1.1,1.5 1 1\n")) == [(b"a.go", array("q", [1, 1, 1, 5, 1, 1]).tobytes())]


def test_go_blocks_too_long_are_corrupt_both_ways() -> None:
    raw = b"mode: set\na.go:1.1,2000000.1 1 1\n"
    got, expected = _both(golang, raw)
    assert got == expected == "corrupt_report: corrupt_report: a block spans lines 1 to 2000000"


@pytest.mark.parametrize("overlap", [False, True])
def test_a_go_file_spanning_too_many_lines_in_all_is_corrupt_both_ways(overlap: bool) -> None:
    # Found by fuzzing: 3 KB of blocks a million lines each took gigabytes and a minute to expand.
    first = [1 if overlap else 1 + i * 1_000_000 for i in range(3)]
    blocks = [f"a.go:{line}.1,{line + 999_999}.9 1 1" for line in first]
    got, expected = _both(golang, ("mode: set\n" + "\n".join(blocks) + "\n").encode())
    limit = golang.MAX_FILE_LINES
    assert got == expected == f"corrupt_report: corrupt_report: one file's blocks span more than {limit} lines"


def test_lcov_record_refuses_a_negative_end() -> None:
    scanner = native.scanner
    assert scanner is not None
    with pytest.raises(ValueError):
        scanner.lcov_record(b"abc", 0, -1)  # found by fuzzing: was an empty table


# --- SimpleCov: its usual files go straight into a table -----------------------------------


def _simplecov_doc(rnd: random.Random) -> dict[str, object]:
    coverage: dict[str, object] = {}
    for f in range(rnd.randint(1, 8)):
        counts: list[object] = [rnd.choice([None, 0, 1, 3, 2**32 - 1]) for _ in range(rnd.randint(0, 60))]
        if rnd.random() < 0.2:
            counts[rnd.randrange(len(counts) or 1) if counts else 0 : 1] = [
                rnd.choice([-1, 2**32, 10**20, 1.5, True, "ignored"])
            ]
        branches: dict[str, object] = {}
        for n in rnd.sample(range(-1, 70), rnd.randint(0, 8)):
            key = rnd.choice([f"[:if, {n}, {n}, 4, {n}, 9]", f"[:case,{n},  {n}, 1]", f"[:if, 1,\t{n}]", f"if {n}"])
            arms: object = {f"[:then, {n}1, {n}]": rnd.choice([1, 1, 5, 0, None, 2**70]), "[:else, 2]": 1}
            branches[key] = rnd.choice([arms, arms, arms, {}, [1]])
        if rnd.random() < 0.2:
            branches[f"[:if, 3, {rnd.randint(1, 9)}]"] = {"[:then, 4]": 1}  # maybe a second condition on a line
        coverage[f"lib/f{f}.rb"] = rnd.choice([{"lines": counts, "branches": branches}, {"lines": counts}, counts])
    return {"RSpec": {"timestamp": 1, "coverage": coverage}}


@pytest.mark.parametrize("seed", range(60))
def test_simplecov_files_read_the_same_with_and_without_c(seed: int) -> None:
    doc = _simplecov_doc(random.Random(seed))
    raw = json.dumps(doc).encode()
    _, files = parse_report(raw)
    got = [(f.path, list(_table(f.lines).items()), isinstance(f, FileTable)) for f in files]
    with pure_python():
        _, files = parse_report(raw)
        expected = [(f.path, list(_table(f.lines).items())) for f in files]
    assert [(path, lines) for path, lines, _ in got] == expected
    assert seed not in (0, 3) or any(table for _, _, table in got)  # the C path does run


def test_simplecov_usual_files_are_tables() -> None:
    raw = (FIXTURES / "simplecov/resultset.json").read_bytes()
    _, files = parse_report(raw)
    assert any(isinstance(f, FileTable) for f in files)
    _, files = parse_report(json.dumps({"S": {"coverage": {"a.rb": {"lines": [1, None, 0]}}}}).encode())
    assert [(f.path, list(f.lines.items()), type(f)) for f in files] == [
        ("a.rb", [(1, Coverage(1)), (3, Coverage(0))], FileTable)
    ]


@pytest.mark.parametrize("relative", ["go/coverage.out", "lcov/calc.lcov.info", "gcov/calc.c.gcov"])
def test_partial_reports_of_c_tables_store_and_merge_as_before(relative: str) -> None:
    raw = (FIXTURES / relative).read_bytes()
    partial = parse_upload(raw + b"\n" + raw if relative.startswith("lcov") else raw, session_id=2)
    with pure_python():
        expected = parse_upload(raw + b"\n" + raw if relative.startswith("lcov") else raw, session_id=2)
    assert load_partial(dump_partial(partial)) == partial == expected
    report, reference = Report(), Report()
    report.merge_partials([partial])
    reference.merge_partials([expected])
    assert report.totals() == reference.totals() and report.files == reference.files
