"""LCOV's DA lines and Go's block lines read in bulk give what reading them line by line gives.

LCOV: a record's DA lines are cut out of it (at once when they come together, with a regex
when other lines sit among them) and converted in one C call; the reference is the per-line
reader (_Reader.line). Go: a run of one file's block lines is converted in one C call; the
reference is the block regex (_BLOCK), which the reader falls back to for anything unusual.
"""

from __future__ import annotations

import io
import random

import pytest

from stream_app.coverage import Coverage, ReportError
from stream_app.coverage.parsers import base, golang, lcov

Parsed = list[tuple[str, dict[int, Coverage]]] | str


def _read(module: object, raw: bytes) -> Parsed:
    try:
        return [(f.path, dict(f.lines)) for f in module.parse(io.BytesIO(raw))]  # type: ignore[attr-defined]
    except ReportError as error:
        return f"error {error.code}"


# --- LCOV ---------------------------------------------------------------------------------


def _line_by_line(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Parsed:
    with monkeypatch.context() as patched:

        def refuse(*_: object) -> None:
            raise lcov._NotPlain

        patched.setattr(lcov._Reader, "record_in_bulk", refuse)
        return _read(lcov, raw)


def _record(rnd: random.Random, path: str, *, together: bool, odd: bool) -> list[str]:
    data = [f"DA:{n},{rnd.choice([0, 1, 2, 255, 256, 10**6, 2**40])}" for n in range(1, rnd.randint(2, 60))]
    if odd:
        i = rnd.randrange(len(data))
        data[i] = rnd.choice(["DA:07,1", "DA:3,01", "DA:1,1,cksum", "DA:,1", "DA:5,", "DA:x,1", "DA:2,2 ", "DA:4,-1"])
    if rnd.random() < 0.3:
        data.append(data[0].replace(",", ",9", 1) if "," in data[0] else data[0])  # a line stated twice
    branches = [f"BRDA:{n},0,{b},{rnd.choice(['-', '0', '1', '7'])}" for n in range(1, 40, 6) for b in range(2)]
    starts = range(1, 40, 10)
    functions = [f"FN:{n},f{n}" for n in starts] + [f"FNDA:{rnd.randint(0, 3)},f{n}" for n in starts]
    if together:  # as lcov and nyc write them
        body = [*functions, "FNF:4", "FNH:2", *branches, "BRF:1", "BRH:1", *data, "LF:1", "LH:1"]
    else:
        body = functions + data
        for line in branches:
            body.insert(rnd.randint(len(functions), len(body)), line)
    return ["TN:", f"SF:{path}", *body, "end_of_record"]


@pytest.mark.parametrize("together", [True, False], ids=["DA together", "DA among others"])
@pytest.mark.parametrize("seed", range(8))
def test_lcov_data_lines_read_in_bulk_equal_line_by_line(
    seed: int, together: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(seed)
    records = [_record(rnd, f"src/f{i}.c", together=together, odd=rnd.random() < 0.3) for i in range(12)]
    raw = ("\n".join(line for record in records for line in record) + "\n").encode()
    expected = _line_by_line(raw, monkeypatch)
    assert _read(lcov, raw) == expected
    assert _read(lcov, raw.replace(b"\n", b"\r\n")) == _line_by_line(raw.replace(b"\n", b"\r\n"), monkeypatch)
    monkeypatch.setattr(base, "CHUNK_SIZE", 61)  # records cut across chunks
    assert _read(lcov, raw) == expected
    assert _read(lcov, raw.rstrip(b"\n")) == expected  # no newline after the last line


def test_lcov_data_numbers_come_out_in_order() -> None:
    body = b"\nFN:1,f\nDA:1,3\nDA:2,0\nBRDA:2,0,0,-\nDA:12,255\nLF:3\n"
    numbers, rest = lcov._data_numbers(body)
    assert numbers == [1, 3, 2, 0, 12, 255]
    assert rest == b"\nFN:1,f\nBRDA:2,0,0,-\nLF:3\n"
    with pytest.raises(lcov._NotPlain):
        lcov._data_numbers(b"\nDA:1,3,abc\n")


# --- Go -------------------------------------------------------------------------------------


def _by_regex(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Parsed:
    """The profile read by the block regex only (no run is plain to a shape nothing has)."""
    with monkeypatch.context() as patched:
        patched.setattr(golang, "_SHAPE", b"\x00")
        return _read(golang, raw)


def _profile(rnd: random.Random, *, odd: bool) -> bytes:
    rows = ["mode: " + rnd.choice(["set", "count", "atomic"])]
    files = [f"example.com/m/p{rnd.randint(0, 2)}/f{i}.go" for i in range(rnd.randint(1, 8))]
    if odd:
        files.append("C:/weird:path/x.go")
    for path in files:
        for n in range(1, rnd.randint(2, 120), rnd.choice([1, 3])):
            end = n + rnd.choice([0, 0, 1, 2, 5, -1])
            column, count = rnd.choice([1, 2, 3, 17]), rnd.choice([0, 1, 2, 255, 256, 10**9])
            row = f"{path}:{n}.{rnd.randint(1, 9)},{end}.{column} {rnd.randint(1, 3)} {count}"
            if odd and rnd.random() < 0.05:
                odd_rows = [row + "  ", row.replace(" ", "\t"), row.replace(".", ".0", 1), "", "garbage", row + "x"]
                row = rnd.choice(odd_rows)
            rows.append(row)
        if odd and rnd.random() < 0.3 and len(rows) > 3:
            rows.append(rows[-2])  # the file's lines come back after another's: same line twice, overlaps
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("odd", [False, True], ids=["plain", "odd"])
@pytest.mark.parametrize("seed", range(10))
def test_go_runs_read_in_bulk_equal_the_block_regex(seed: int, odd: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _profile(random.Random(seed), odd=odd)
    expected = _by_regex(raw, monkeypatch)
    assert _read(golang, raw) == expected
    assert _read(golang, raw.replace(b"\n", b"\r\n")) == expected
    assert _read(golang, raw.rstrip(b"\n")) == expected
    for size in (7, 200, 5000):  # chunks end inside runs and lines
        monkeypatch.setattr(base, "CHUNK_SIZE", size)
        assert _read(golang, raw) == expected, size


def test_go_paths_longer_than_the_search_window(monkeypatch: pytest.MonkeyPatch) -> None:
    path = "example.com/" + "d/" * 5000 + "a.go"
    raw = f"mode: set\n{path}:1.1,2.9 1 1\n{path}:4.1,4.9 1 0\nb.go:1.1,1.5 1 1\n".encode()
    parsed = _read(golang, raw)
    assert parsed == _by_regex(raw, monkeypatch)
    assert not isinstance(parsed, str)
    assert [name for name, _ in parsed] == [path, "b.go"]


def test_go_spans_are_lines_of_each_block() -> None:
    rnd = random.Random(1)
    blocks = [(s, rnd.randint(1, 9), s + rnd.randint(-3, 6), rnd.randint(0, 5), 1, 1) for s in range(1, 300)]
    numbers = [n for block in blocks for n in block]
    assert golang._spans(numbers) == [golang._lines_of(s, e, c) for s, _, e, c, _, _ in blocks]


def test_go_a_block_of_absurd_span_is_refused_in_bulk_too(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b"mode: count\na.go:1.1,2.3 1 1\na.go:3.1,99999999.3 1 1\n"
    assert _read(golang, raw) == _by_regex(raw, monkeypatch) == "error corrupt_report"
