"""LCOV tracefiles (lcov/geninfo, nyc/istanbul `lcovonly`, c8, grcov, ...).

    SF:<path>            DA:<line>,<hits>            BRDA:<line>,<block>,<branch>,<taken|->
    FN:<line>,<name>     FNDA:<hits>,<name>          (lcov 2: FNL:<idx>,<line> / FNA:<idx>,<hits>,<name>)
    end_of_record

Branches are named `block:branch`, so sessions merge exactly. A function's start line becomes
a method line (added when it has no DA record).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from stream_app.coverage.linecov import Branches, Coverage, hits, merge
from stream_app.coverage.parsers.base import FileCoverage, to_int


@dataclass(slots=True)
class _Record:
    file: FileCoverage
    branches: dict[int, dict[str, bool]] = field(default_factory=dict)
    function_lines: dict[str, int] = field(default_factory=dict)
    function_hits: dict[str, int] = field(default_factory=dict)

    def finish(self) -> FileCoverage:
        for number, taken in self.branches.items():
            known = self.file.lines.get(number)
            count = known.hits if known is not None else int(any(taken.values()))  # BRDA without DA
            missing = tuple(branch for branch, ran in taken.items() if not ran)
            self.file.add(number, Coverage(count, Branches.from_missing(len(taken), missing)))
        for name, number in self.function_lines.items():
            self.file.mark_method(number, self.function_hits.get(name, 0))
        return self.file


def _branch(record: _Record, value: str) -> None:
    parts = value.split(",", 3)
    if len(parts) == 4:
        number = to_int(parts[0], "BRDA line")
        ran = parts[3].strip() not in ("-", "0")
        record.branches.setdefault(number, {})[f"{parts[1]}:{parts[2]}"] = ran


def _function(record: _Record, key: str, value: str) -> None:
    first, _, rest = value.partition(",")
    if key == "FN" and rest:
        end, _, named = rest.partition(",")  # lcov 2: FN:<start>,<end>,<name>
        record.function_lines[named if end.isdigit() and named else rest] = to_int(first, "FN line")
        return
    if key == "FNDA" and rest:
        record.function_hits[rest] = max(record.function_hits.get(rest, 0), to_int(first, "FNDA hits"))
        return
    parts = value.split(",")
    if key == "FNL" and len(parts) >= 2:
        record.function_lines[f"#{parts[0]}"] = to_int(parts[1], "FNL line")
    elif key == "FNA" and len(parts) >= 2:
        record.function_hits[f"#{parts[0]}"] = to_int(parts[1], "FNA hits")


def _data(record: _Record, value: str) -> None:
    parts = value.split(",", 2)
    if len(parts) >= 2:
        record.file.add(to_int(parts[0], "DA line"), hits(to_int(parts[1], "DA hits")))


def _feed(record: _Record, key: str, value: str) -> None:
    if key == "DA":
        _data(record, value)
    elif key == "BRDA":
        _branch(record, value)
    elif key in ("FN", "FNDA", "FNL", "FNA"):
        _function(record, key, value)


def _fast_data(record: _Record, raw: bytes) -> None:
    """The hot path: `DA:<line>,<hits>[,<checksum>]`, most lines of a tracefile."""
    parts = raw[3:].split(b",", 2)
    try:
        number, count = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        _data(record, raw[3:].decode("utf-8", errors="replace"))
        return
    lines = record.file.lines
    known = lines.get(number)
    lines[number] = hits(count) if known is None else merge(known, hits(count))


def parse(stream: IO[bytes]) -> Iterator[FileCoverage]:
    record: _Record | None = None
    for raw in stream:
        if record is not None and raw.startswith(b"DA:"):
            _fast_data(record, raw)
            continue
        text = raw.decode("utf-8", errors="replace").strip()
        key, _, value = text.partition(":")
        if key == "SF":
            record = _Record(FileCoverage(value.strip()))
        elif record is not None and text == "end_of_record":
            file, record = record.finish(), None
            if file.lines:
                yield file
        elif record is not None:
            _feed(record, key, value)
    if record is not None and record.file.lines:
        yield record.finish()
