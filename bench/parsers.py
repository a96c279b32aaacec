"""Parse throughput per coverage format, and peak RSS on a 100 MB Cobertura report.

    .venv/bin/python bench/parsers.py [--size-mb 30] [--rss-size-mb 100] [--repeat 3]
                                      [--formats cobertura,lcov,... | ""]

Every report is generated into a temp directory (deleted afterwards). Each case runs in its own
subprocess, which reports its wall time and `resource.getrusage(RUSAGE_SELF).ru_maxrss`, so one
case's memory never shows up in another's. The file is read through mmap, as the processor
does (`parse_upload_file`), so the file's own bytes are page cache, not heap; they still count in
RSS as far as they were touched, which is why the bare baselines have a large RSS too. The child
imports `stream_app.coverage` (and lxml) before its clock starts, whatever the case, so import
time (~60 ms) is in no measurement and the import's memory in every one.

Baselines on the same file: XML, a bare `lxml.etree.iterparse` (end events of every element,
clear + drop earlier siblings, no Python per element beyond that); line formats, a bare
`for line in file` scan; JSON formats, a bare `json.loads`. Their ratio is the cost of our
per-line Python work; the target is a throughput of at least 0.5x the baseline's.

With --repeat N each case runs N times, ours and its baseline alternating (the machine's load
drifts); the fastest run of each is reported, with the highest peak RSS seen, and next to it
the median of the N paired ratios (each run of ours against the baseline run right after it).
"""

from __future__ import annotations

import argparse
import json
import mmap
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

Writer = Callable[[IO[str], int, random.Random], None]
LINES = 400  # lines per generated source file
TARGET = 0.5  # throughput at least this share of the bare baseline's


def _cobertura(out: IO[str], i: int, rnd: random.Random) -> None:
    out.write(f'\t\t\t<class name="m{i}.py" filename="pkg/m{i}.py" complexity="0" line-rate="0.7" branch-rate="0.5">\n')
    out.write("\t\t\t\t<methods/>\n\t\t\t\t<lines>\n")
    for n in range(1, LINES + 1):
        if n % 10 == 0:
            out.write(
                f'\t\t\t\t\t<line number="{n}" hits="{rnd.randint(0, 3)}" branch="true" '
                f'condition-coverage="50% (1/2)" missing-branches="{n + 2}"/>\n'
            )
        else:
            out.write(f'\t\t\t\t\t<line number="{n}" hits="{rnd.randint(0, 3)}"/>\n')
    out.write("\t\t\t\t</lines>\n\t\t\t</class>\n")


def _jacoco(out: IO[str], i: int, rnd: random.Random) -> None:
    out.write(f'<class name="p/C{i}" sourcefilename="C{i}.java">')
    for m in range(1, LINES, 20):
        out.write(f'<method name="m{m}" desc="()V" line="{m}"><counter type="METHOD" missed="0" covered="1"/></method>')
    out.write(f'</class><sourcefile name="C{i}.java">')
    for n in range(1, LINES + 1):
        mb, cb = (1, 1) if n % 10 == 0 else (0, 0)
        out.write(f'<line nr="{n}" mi="{rnd.randint(0, 2)}" ci="{rnd.randint(0, 3)}" mb="{mb}" cb="{cb}"/>')
    out.write('<counter type="LINE" missed="1" covered="1"/></sourcefile>\n')


def _clover(out: IO[str], i: int, rnd: random.Random) -> None:
    out.write(f'<file name="F{i}.php" path="/ci/src/F{i}.php">\n')
    for n in range(1, LINES + 1):
        if n % 20 == 1:
            out.write(
                f'  <line num="{n}" type="method" name="m{n}" visibility="public" count="{rnd.randint(0, 3)}"/>\n'
            )
        elif n % 10 == 0:
            out.write(
                f'  <line num="{n}" type="cond" truecount="{rnd.randint(0, 2)}" falsecount="{rnd.randint(0, 2)}"/>\n'
            )
        else:
            out.write(f'  <line num="{n}" type="stmt" count="{rnd.randint(0, 3)}"/>\n')
    out.write('  <metrics loc="1" statements="1" coveredstatements="1"/>\n</file>\n')


def _lcov(out: IO[str], i: int, rnd: random.Random) -> None:
    out.write(f"TN:\nSF:/ci/src/f{i}.c\n")
    for m in range(1, LINES, 20):
        out.write(f"FN:{m},fn{m}\nFNDA:{rnd.randint(0, 3)},fn{m}\n")
    for n in range(1, LINES + 1):
        out.write(f"DA:{n},{rnd.randint(0, 3)}\n")
        if n % 10 == 0:
            out.write(f"BRDA:{n},0,0,{rnd.randint(0, 2)}\nBRDA:{n},0,1,-\n")
    out.write("end_of_record\n")


def _gcov(out: IO[str], i: int, rnd: random.Random) -> None:
    for n in range(1, LINES + 1):
        count = rnd.randint(0, 3)
        if n % 20 == 1:
            out.write(f"function fn{i}_{n} called {count} returned 100% blocks executed 80%\n")
        out.write(f"{count or '#####':>9}:{i * LINES + n:>5}:    total += compute(x, {n});\n")
        if n % 10 == 0:
            out.write("branch  0 taken 50% (fallthrough)\nbranch  1 never executed\n")


def _go(out: IO[str], i: int, rnd: random.Random) -> None:
    for n in range(1, LINES, 3):
        out.write(f"example.com/mod/pkg/f{i}.go:{n}.20,{n + 2}.3 {rnd.randint(1, 3)} {rnd.randint(0, 3)}\n")


def _coveragepy_json(i: int, rnd: random.Random) -> tuple[str, object]:
    executed = [n for n in range(1, LINES + 1) if rnd.random() < 0.7]
    missing = [n for n in range(1, LINES + 1) if n not in set(executed)]
    branches = [[n, n + 2] for n in range(10, LINES, 10)]
    return f"pkg/m{i}.py", {
        "executed_lines": executed,
        "missing_lines": missing,
        "excluded_lines": [],
        "executed_branches": branches[::2],
        "missing_branches": branches[1::2],
        "summary": {"covered_lines": len(executed), "num_statements": LINES},
    }


def _istanbul(i: int, rnd: random.Random) -> tuple[str, object]:
    def loc(n: int) -> dict[str, object]:
        return {"start": {"line": n, "column": 2}, "end": {"line": n, "column": 30}}

    lines = range(1, LINES + 1)
    return f"/ci/src/f{i}.js", {
        "path": f"/ci/src/f{i}.js",
        "statementMap": {str(k): loc(n) for k, n in enumerate(lines)},
        "s": {str(k): rnd.randint(0, 3) for k, _ in enumerate(lines)},
        "fnMap": {
            str(k): {"name": f"f{n}", "decl": loc(n), "loc": loc(n), "line": n} for k, n in enumerate(lines[::20])
        },
        "f": {str(k): rnd.randint(0, 3) for k, _ in enumerate(lines[::20])},
        "branchMap": {
            str(k): {"loc": loc(n), "type": "if", "locations": [loc(n), loc(n)], "line": n}
            for k, n in enumerate(lines[9::10])
        },
        "b": {str(k): [rnd.randint(0, 2), rnd.randint(0, 2)] for k, _ in enumerate(lines[9::10])},
    }


def _simplecov(i: int, rnd: random.Random) -> tuple[str, object]:
    return f"/ci/lib/f{i}.rb", {
        "lines": [None if n % 7 == 0 else rnd.randint(0, 3) for n in range(1, LINES + 1)],
        "branches": {
            f"[:if, {n}, {n}, 4, {n + 2}, 7]": {f"[:then, {n}1, {n + 1}, 6, {n + 1}, 9]": 1}
            for n in range(10, LINES, 10)
        },
    }


XML_WRAPPERS = {
    "cobertura": (
        '<?xml version="1.0" ?>\n<coverage version="7">\n\t<packages>\n\t\t<package name="pkg">\n\t\t<classes>\n',
        "\t\t</classes>\n\t\t</package>\n\t</packages>\n</coverage>\n",
        _cobertura,
    ),
    "jacoco": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE report PUBLIC '
        '"-//JACOCO//DTD Report 1.1//EN" "report.dtd">\n<report name="bench"><package name="p">\n',
        "</package></report>\n",
        _jacoco,
    ),
    "clover": (
        '<?xml version="1.0"?>\n<coverage generated="1" clover="4.5"><project timestamp="1">\n',
        "</project></coverage>\n",
        _clover,
    ),
}
TEXT_WRITERS: dict[str, Writer] = {"lcov": _lcov, "go": _go}
JSON_MAKERS = {"coveragepy_json": _coveragepy_json, "istanbul": _istanbul, "simplecov": _simplecov}
FORMATS = [*XML_WRAPPERS, "lcov", "gcov", "go", *JSON_MAKERS]


def generate(fmt: str, path: Path, size: int) -> None:
    rnd = random.Random(42)
    with path.open("w") as out:
        if fmt in XML_WRAPPERS:
            head, tail, writer = XML_WRAPPERS[fmt]
            out.write(head)
            i = 0
            while out.tell() < size:
                writer(out, i, rnd)
                i += 1
            out.write(tail)
        elif fmt in JSON_MAKERS:
            _generate_json(fmt, out, size, rnd)
        else:
            if fmt == "gcov":
                out.write("        -:    0:Source:src/big.c\n        -:    0:Runs:1\n")
            elif fmt == "go":
                out.write("mode: count\n")
            i = 0
            while out.tell() < size:
                (TEXT_WRITERS.get(fmt) or _gcov)(out, i, rnd)
                i += 1


def _generate_json(fmt: str, out: IO[str], size: int, rnd: random.Random) -> None:
    """Written piece by piece so the generator itself stays small."""
    make = JSON_MAKERS[fmt]
    opening = {
        "coveragepy_json": '{"meta": {"format": 3, "version": "7.6.1"}, "files": {',
        "istanbul": "{",
        "simplecov": '{"RSpec": {"timestamp": 1, "coverage": {',
    }[fmt]
    closing = {"coveragepy_json": '}, "totals": {}}', "istanbul": "}", "simplecov": "}}}"}[fmt]
    out.write(opening)
    i = 0
    while out.tell() < size:
        key, value = make(i, rnd)
        out.write(("," if i else "") + json.dumps(key) + ":" + json.dumps(value, separators=(",", ":")))
        i += 1
    out.write(closing)


# --- cases, each run in a fresh subprocess -------------------------------------------------


def _mapped(path: Path) -> Iterator[memoryview]:
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            yield view
        finally:
            view.release()


def case_parse(path: Path) -> int:
    from stream_app.coverage.parsers import parse_report

    for view in _mapped(path):
        _, files = parse_report(view)
        return sum(len(f.lines) for f in files)
    return 0


def case_upload(path: Path) -> int:
    from stream_app.coverage import parse_upload_file

    return parse_upload_file(path, session_id=0).totals().lines


def case_bare_iterparse(path: Path) -> int:
    from lxml import etree

    from stream_app.coverage.bundle import open_view

    count = 0
    for view in _mapped(path):
        for _, element in etree.iterparse(open_view(view), events=("end",)):
            count += 1
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    return count


def case_whole_tree(path: Path) -> int:
    from lxml import etree

    return len(etree.parse(str(path)).getroot())


def case_bare_lines(path: Path) -> int:
    from stream_app.coverage.bundle import open_view

    count = 0
    for view in _mapped(path):
        for _ in open_view(view):
            count += 1
    return count


def case_bare_json(path: Path) -> int:
    for view in _mapped(path):
        return len(json.loads(view.tobytes()))
    return 0


def case_imports(path: Path) -> int:
    return 0  # the child imported stream_app.coverage already


CASES = {
    "parse": case_parse,
    "upload": case_upload,
    "bare_iterparse": case_bare_iterparse,
    "whole_tree": case_whole_tree,
    "bare_lines": case_bare_lines,
    "bare_json": case_bare_json,
    "imports": case_imports,
}


def run_case(case: str, path: Path) -> dict[str, float]:
    """Run one case in a fresh interpreter; wall seconds and peak RSS (MB) of that process."""
    done = subprocess.run(
        [sys.executable, __file__, "--case", case, "--file", str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rss_anon_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


class _AnonPeak(threading.Thread):
    """Samples RssAnon (heap, not the mmapped report's page cache) every few ms; Linux only."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = _rss_anon_kib()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            self.peak_kib = max(self.peak_kib, _rss_anon_kib())


def _child(case: str, path: Path) -> None:
    import lxml.etree  # noqa: F401 -- imported before the clock starts, for every case alike

    import stream_app.coverage  # noqa: F401

    sampler = _AnonPeak()
    sampler.start()
    started = time.perf_counter()
    items = CASES[case](path)
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    anon_mb = max(sampler.peak_kib, _rss_anon_kib()) / 1024
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "rss_mb": peak_mb, "anon_mb": anon_mb, "items": items}))


def _baseline(fmt: str) -> str:
    if fmt in XML_WRAPPERS:
        return "bare_iterparse"
    return "bare_json" if fmt in JSON_MAKERS else "bare_lines"


def _best(case: str, path: Path, runs: list[dict[str, float]]) -> float:
    """Run the case once more; runs[0] keeps the fastest run (with the highest peak RSS seen).
    The run's seconds are returned."""
    result = run_case(case, path)
    if not runs:
        runs.append(result)
        return result["seconds"]
    best = runs[0]
    for key in ("rss_mb", "anon_mb"):
        result[key] = best[key] = max(best[key], result[key])
    if result["seconds"] < best["seconds"]:
        runs[0] = result
    return result["seconds"]


def throughput_table(formats: list[str], size_mb: int, repeat: int, workdir: Path) -> None:
    print(f"\n## Parse throughput (generated reports of ~{size_mb} MB, parse_report over mmap, best of {repeat})\n")
    print(
        "| format | size MB | lines | ours s | ours MB/s | ours peak RSS / anon MB "
        "| baseline | baseline MB/s | baseline peak RSS / anon MB | ours/baseline throughput "
        "| median of paired runs |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for fmt in formats:
        path = workdir / f"{fmt}.report"
        generate(fmt, path, size_mb * 1024 * 1024)
        mb = path.stat().st_size / 1024 / 1024
        ours_runs: list[dict[str, float]] = []
        base_runs: list[dict[str, float]] = []
        paired: list[float] = []  # each run of ours against the baseline run right after it (same load)
        for _ in range(repeat):
            ours_seconds = _best("parse", path, ours_runs)
            paired.append(_best(_baseline(fmt), path, base_runs) / ours_seconds)
        ours, base = ours_runs[0], base_runs[0]
        ratio = base["seconds"] / ours["seconds"]
        print(
            f"| {fmt} | {mb:.1f} | {int(ours['items'])} | {ours['seconds']:.2f} | {mb / ours['seconds']:.1f} | "
            f"{ours['rss_mb']:.0f} / {ours['anon_mb']:.0f} | {_baseline(fmt)} | {mb / base['seconds']:.1f} | "
            f"{base['rss_mb']:.0f} / {base['anon_mb']:.0f} | {ratio:.2f}x{'' if ratio >= TARGET else ' (< 0.5)'} | "
            f"{statistics.median(paired):.2f}x |"
        )
        path.unlink()


def rss_table(size_mb: int, workdir: Path) -> None:
    path = workdir / "big-cobertura.xml"
    generate("cobertura", path, size_mb * 1024 * 1024)
    mb = path.stat().st_size / 1024 / 1024
    print(f"\n## Peak RSS on a {mb:.0f} MB Cobertura report (one subprocess per case)\n")
    print("| case | what it does | seconds | peak RSS MB (ru_maxrss) | peak anon RSS MB (sampled) |")
    print("| --- | --- | ---: | ---: | ---: |")
    described = {
        "imports": "interpreter + `import stream_app.coverage`, no parsing",
        "bare_iterparse": "lxml iterparse, clear + drop siblings, nothing kept",
        "parse": "our Cobertura parser, files iterated and dropped",
        "upload": "`parse_upload_file`: parse + path fixing + PartialReport kept",
        "whole_tree": "for contrast: `lxml.etree.parse` of the whole document",
    }
    results = {case: run_case(case, path) for case in described}
    for case, what in described.items():
        result = results[case]
        print(f"| {case} | {what} | {result['seconds']:.2f} | {result['rss_mb']:.0f} | {result['anon_mb']:.0f} |")
    growth = results["parse"]["anon_mb"] - results["imports"]["anon_mb"]
    print(f"\nParsing grows the heap (peak anon RSS over `imports`) by {growth:.0f} MB (target: under 100 MB).")
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=30)
    parser.add_argument("--rss-size-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs per throughput case; the best is reported")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        _child(args.case, args.file)
        return
    print(f"python {sys.version.split()[0]}, lxml {__import__('lxml.etree').etree.__version__}")
    with tempfile.TemporaryDirectory(prefix="bench-parsers-") as tmp:
        formats = [f for f in args.formats.split(",") if f]
        if formats:
            throughput_table(formats, args.size_mb, max(args.repeat, 1), Path(tmp))
        rss_table(args.rss_size_mb, Path(tmp))


if __name__ == "__main__":
    main()
