"""LCOV tracefiles (lcov/geninfo, nyc/istanbul `lcovonly`, c8, grcov, ...).

    SF:<path>            DA:<line>,<hits>            BRDA:<line>,<block>,<branch>,<taken|->
    FN:<line>,<name>     FNDA:<hits>,<name>          (lcov 2: FNL:<idx>,<line> / FNA:<idx>,<hits>,<name>)
    end_of_record

Branches are named `block:branch`, so sessions merge exactly. A function's start line becomes
a method line (added when it has no DA record).

Speed: a record (`SF:` .. `end_of_record`) is read in bulk when every line of it is plain:
each kind of line (DA, BRDA, FN, FNDA) is found by one regex over the whole record, the DA
numbers are converted in one C call, and only the few other lines (TN, LF, FNL, ...) are
looked at one by one. A record with anything unusual in it (blanks, checksums, a DA line that
is not two numbers, ...) is read line by line: the reference behaviour the bulk path matches.
Where the C scanner was built (`native`), it reads a plain record first and hands over its
line table (no Python object per line); what it does not plainly understand (FNL/FNA, checksums,
blanks, names that are not printable ASCII, ...) takes the paths above.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Final

from stream_app.coverage.linecov import Coverage, hits, merge
from stream_app.coverage.linetable import LineTable
from stream_app.coverage.parsers import native
from stream_app.coverage.parsers.base import (
    PLAIN,
    FileCoverage,
    FileTable,
    ParsedFile,
    SharedLines,
    text_chunks,
    to_int,
)

_END: Final = b"\nend_of_record\n"
# Over "\n" + lines: each pattern starts with the newline before its line (a literal prefix the
# regex engine skips to quickly) and leaves the one after it for the next line.
_NOT_DA: Final = re.compile(rb"\n(?!DA:)[^\n]*")  # a line that is not a DA line
_NAME: Final = r"[ -+\--~]*"  # printable ASCII but a comma
_BRDA: Final = re.compile(rf"\nBRDA:([0-9]+),({_NAME}),({_NAME}),(-|[0-9]+)(?=\n)")
_FUNCTION: Final = r"([!-+\--~](?:[ -+\--~]*[!-+\--~])?)"  # printable ASCII, no comma, no space at its ends
_FN: Final = re.compile(rf"\nFN:([0-9]+),{_FUNCTION}(?=\n)")
_FNDA: Final = re.compile(rf"\nFNDA:([0-9]+),{_FUNCTION}(?=\n)")
# Any other line. A line of those four keys that their pattern does not match is in no list
# (the line count tells): the record is not plain.
_OTHER: Final = re.compile(r"\n(?!DA:|BRDA:|FN:|FNDA:)([^\n]*)(?=\n)")
_ORDERED_KEYS: Final = ("DA", "BRDA", "SF")  # their lines must keep their order relative to the bulk lines
_FUNCTION_KEYS: Final = ("FN", "FNDA", "FNL", "FNA")  # they fill the same two dicts


@dataclass(slots=True)
class _Record:
    file: FileCoverage
    shared: SharedLines
    branches: dict[int, dict[str, bool]] = field(default_factory=dict)
    function_lines: dict[str, int] = field(default_factory=dict)
    function_hits: dict[str, int] = field(default_factory=dict)

    def finish(self) -> FileCoverage:
        file, lines = self.file, self.file.lines
        for number, taken in self.branches.items():
            if number <= 0:
                continue  # as FileCoverage.add
            missing = tuple(branch for branch, ran in taken.items() if not ran)
            known = lines.get(number)
            if known is None:  # BRDA without DA
                lines[number] = self.shared.named(int(len(missing) < len(taken)), len(taken), missing)
            elif known.branches is None and not known.method:  # what merging the two gives
                lines[number] = self.shared.named(known.hits, len(taken), missing)
            else:
                lines[number] = merge(known, self.shared.named(known.hits, len(taken), missing))
        for name, number in self.function_lines.items():
            file.mark_method(number, self.function_hits.get(name, 0))
        return file


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
    """`DA:<line>,<hits>[,<checksum>]` read line by line: the numbers as given (even 0)."""
    parts = raw[3:].split(b",", 2)
    try:
        number, count = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        _data(record, raw[3:].decode("utf-8", errors="replace"))
        return
    _merge_data(record.file.lines, number, count)


def _merge_data(lines: dict[int, Coverage], number: int, count: int) -> None:
    known = lines.get(number)
    lines[number] = hits(count) if known is None else merge(known, hits(count))


class _NotPlain(Exception):
    """A record that _Reader.record_in_bulk() leaves to _Reader.line()."""


def _data_numbers(body: bytes) -> tuple[list[int], bytes]:
    """The numbers of the DA lines of `body` (a newline before and after each line) in order,
    converted in C (line, hits, line, hits, ...), and the other lines; _NotPlain when a DA line
    is not `DA:<digits>,<digits>`. DA lines usually come together (lcov, nyc): no regex then."""
    first = body.find(b"\nDA:")
    if first < 0:
        return [], body
    last = body.find(b"\n", body.rfind(b"\nDA:") + 1)
    region, rest = body[first:last], body[:first] + body[last:]
    count = region.count(b"\nDA:")
    if region.count(b"\n") != count:  # other lines among them: taken out, in their order
        rest = body[:first] + b"".join(_NOT_DA.findall(region)) + body[last:]
        region = _NOT_DA.sub(b"", region)
    numbers = region.replace(b"\nDA:", b",")[1:]
    if numbers.translate(None, b"0123456789,") or numbers.count(b",") != 2 * count - 1:
        raise _NotPlain
    try:
        return json.loads(b"[" + numbers + b"]"), rest
    except ValueError:  # an empty number, or a leading zero ("DA:07,1") that is no JSON number
        try:
            return list(map(int, numbers.split(b","))), rest
        except ValueError:
            raise _NotPlain from None


def _data_lines(numbers: list[int]) -> dict[int, Coverage]:
    """The lines of DA `numbers` (line, hits, line, hits, ...), as _fast_data() adds them one by one."""
    counts = numbers[1::2]
    coverages = map(PLAIN.__getitem__, counts) if max(counts) < len(PLAIN) else map(hits, counts)
    lines = dict(zip(numbers[0::2], coverages, strict=True))
    if len(lines) < len(counts):  # a line stated twice: merged in order
        lines = {}
        for number, count in zip(numbers[0::2], counts, strict=True):
            _merge_data(lines, number, count)
    return lines


class _Reader:
    """The tracefile's state between lines: the record being read."""

    def __init__(self) -> None:
        self.record: _Record | None = None
        self.shared = SharedLines()

    def line(self, raw: bytes) -> FileCoverage | None:
        """One line (with its newline, if it has one); a finished record's file when it has lines."""
        record = self.record
        if record is not None and raw.startswith(b"DA:"):
            _fast_data(record, raw)
            return None
        text = raw.decode("utf-8", errors="replace").strip()
        key, _, value = text.partition(":")
        if key == "SF":
            self.record = _Record(FileCoverage(value.strip()), self.shared)
        elif record is not None and text == "end_of_record":
            file, self.record = record.finish(), None
            return file if file.lines else None
        elif record is not None:
            _feed(record, key, value)
        return None

    def lines(self, text: bytes, pos: int, end: int) -> Iterator[FileCoverage]:
        """line() for each line of text[pos:end]."""
        while pos < end:
            stop = text.find(b"\n", pos, end) + 1 or end
            if (file := self.line(text[pos:stop])) is not None:
                yield file
            pos = stop

    def record_in_bulk(self, head: bytes, body: bytes) -> FileCoverage | None:
        """The record of `SF:` line `head` and lines `body` (a newline before and after each line),
        read as line() would read them; _NotPlain when a line of it needs reading one by one.

        The lines of each kind are read in their order, the kinds one after the other: what one
        kind fills (DA: the lines, BRDA: the branches, FN/FNDA/FNL/FNA: the functions) no other
        kind touches, so that gives what reading them in the order of the record gives. A record
        where that is not so (a DA line that is not two numbers, FNL beside FN, ...) is not plain.
        """
        text = head.decode("utf-8", errors="replace").strip()
        record = _Record(FileCoverage(text.partition(":")[2].strip()), self.shared)
        data, rest = _data_numbers(body)
        lines = rest.decode("utf-8", errors="replace")
        branch_lines, starts, calls = _BRDA.findall(lines), _FN.findall(lines), _FNDA.findall(lines)
        others = _OTHER.findall(lines)
        if len(branch_lines) + len(starts) + len(calls) + len(others) != lines.count("\n") - 1:
            raise _NotPlain  # some BRDA, FN or FNDA line is not plain
        for other in others:
            other = other.strip()
            key, _, value = other.partition(":")
            if key in _ORDERED_KEYS or other == "end_of_record" or (key in _FUNCTION_KEYS and (starts or calls)):
                raise _NotPlain
            _feed(record, key, value)
        if data:
            record.file.lines = _data_lines(data)
        branches = record.branches
        for number, block, branch, taken in branch_lines:
            per_line = branches.get(line := int(number))
            if per_line is None:
                per_line = branches[line] = {}
            per_line[f"{block}:{branch}"] = taken != "-" and taken != "0"
        function_lines, function_hits = record.function_lines, record.function_hits
        for number, name in starts:
            function_lines[name] = int(number)
        for count, name in calls:
            function_hits[name] = max(function_hits.get(name, 0), int(count))
        self.record = None
        file = record.finish()
        return file if file.lines else None


def _native_record(text: bytes, pos: int, stop: int, end: int) -> FileTable | bool:
    """The record of the SF line text[pos:stop] up to its end_of_record line (text[end] is the newline
    before it) read by the C scanner: its file, True when it has no line, False when not plain."""
    scanner = native.scanner
    table = scanner.lcov_record(text, stop, end) if scanner is not None else None
    if table is None:
        return False
    if not (table[0] or table[2]):
        return True
    path = text[pos + len(b"SF:") : stop].decode("utf-8", errors="replace").strip()
    return FileTable(path, LineTable.from_arrays(*table))


def _record(reader: _Reader, text: bytes, pos: int, stop: int, end: int) -> Iterator[ParsedFile]:
    """The record from the SF line text[pos:stop] to its end_of_record line (text[end] is the
    newline before it): by the C scanner, else in bulk, else line by line."""
    if native_file := _native_record(text, pos, stop, end):
        reader.record = None  # as record_in_bulk() leaves it
        if isinstance(native_file, FileTable):
            yield native_file
        return
    try:
        file = reader.record_in_bulk(text[pos:stop], text[stop - 1 : end + 1])
    except _NotPlain:
        yield from reader.lines(text, pos, end + len(_END))
        return
    if file is not None:
        yield file


def parse(stream: IO[bytes]) -> Iterator[ParsedFile]:
    reader = _Reader()
    for text in text_chunks(stream, _END):
        pos, size = 0, len(text)
        while pos < size:
            stop = text.find(b"\n", pos) + 1 or size
            if text.startswith(b"SF:", pos) and (end := text.find(_END, stop - 1)) >= 0:
                yield from _record(reader, text, pos, stop, end)
                pos = end + len(_END)
                continue
            if (file := reader.line(text[pos:stop])) is not None:
                yield file
            pos = stop
    record = reader.record
    if record is not None and record.file.lines:
        yield record.finish()
