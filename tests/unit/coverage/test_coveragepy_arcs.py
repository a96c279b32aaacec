"""coverage.py JSON: lines and arcs read with dict and list operations give what reading every
arc into a per-line target dict gives (the first version of the parser, kept here as reference)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from stream_app.coverage import Coverage, hits, merge
from stream_app.coverage.parsers import parse_report
from stream_app.coverage.parsers.base import FileCoverage, SharedLines


def _reference_file(data: dict[str, Any]) -> dict[int, Coverage]:
    shared = SharedLines()
    file = FileCoverage("x", dict.fromkeys(map(int, data.get("executed_lines") or ()), hits(1)))
    lines = file.lines
    missing = dict.fromkeys(map(int, data.get("missing_lines") or ()), hits(0))
    missing.update(lines)
    lines.update(missing)
    arcs: dict[int, dict[str, bool]] = {}
    for source, target in data.get("executed_branches") or ():
        arcs.setdefault(int(source), {})[str(target)] = True
    for source, target in data.get("missing_branches") or ():
        arcs.setdefault(int(source), {}).setdefault(str(target), False)
    for number, targets in arcs.items():
        if number <= 0:
            continue
        known = lines.get(number)
        missing_arcs = tuple(target for target, taken in targets.items() if not taken)
        line = shared.named(known.hits if known is not None else 0, len(targets), missing_arcs)
        lines[number] = line if known is None else merge(known, line)
    for name, function in (data.get("functions") or {}).items():
        start = function.get("start_line") if name else None
        if isinstance(start, int) and start in lines:
            file.mark_method(start, int(bool((function.get("summary") or {}).get("covered_lines"))))
    return lines


def _random_file(rnd: random.Random) -> dict[str, Any]:
    numbers = list(range(-1, 60))
    rnd.shuffle(numbers)
    executed, missing = sorted(numbers[:30]), sorted(numbers[30:45])
    if rnd.random() < 0.2:
        missing.append(executed[0])  # both executed and missing: executed wins
    arcs = [[rnd.randint(-1, 60), rnd.choice([-1, *range(1, 62)])] for _ in range(rnd.randint(0, 40))]
    split = rnd.randint(0, len(arcs))
    executed_arcs, missing_arcs = arcs[:split], arcs[split:]
    if arcs and rnd.random() < 0.5:
        missing_arcs.append(rnd.choice(arcs))  # an arc both executed and missing, or named twice
    functions = {
        "": {"start_line": 1},
        "f": {"start_line": executed[1], "summary": {"covered_lines": rnd.randint(0, 1)}},
    }
    return {
        "executed_lines": executed,
        "missing_lines": missing,
        "executed_branches": executed_arcs,
        "missing_branches": missing_arcs,
        "functions": functions,
    }


@pytest.mark.parametrize("seed", range(30))
def test_coverage_py_json_reads_as_the_reference(seed: int) -> None:
    rnd = random.Random(seed)
    files = {f"f{i}.py": _random_file(rnd) for i in range(5)}
    document = json.dumps({"meta": {"format": 3}, "files": files}).encode()

    _, parsed = parse_report(document)

    expected = {path: _reference_file(data) for path, data in files.items()}
    assert {file.path: dict(file.lines) for file in parsed} == {p: lines for p, lines in expected.items() if lines}
