"""Each parser against a report made by the real tool; expected numbers come from the tool's own summary.

See tests/fixtures/coverage/README.md for which tool and version made each file.
"""

from __future__ import annotations

import json
import re

from stream_app.coverage.parsers import Format, detect_format
from tests.unit.coverage.support import FIXTURES, all_lines, branch_sums, only_file, parse_fixture, read_fixture


def _xml_attr(xml: str, name: str) -> int:
    match = re.search(rf'{name}="(\d+)"', xml)
    assert match is not None
    return int(match.group(1))


def test_coverage_py_json_matches_its_totals() -> None:
    expected = json.loads(read_fixture("coveragepy/coverage.json"))["totals"]

    partial = parse_fixture("coveragepy/coverage.json")
    totals = partial.totals()

    assert set(partial.files) == {"shapes/geometry.py"}
    assert totals.lines == expected["num_statements"]
    assert totals.hits + totals.partials == expected["covered_lines"]
    assert totals.misses == expected["missing_lines"]
    assert totals.partials == expected["num_partial_branches"]
    assert branch_sums(all_lines(partial)) == (expected["num_branches"], expected["covered_branches"])


def test_coverage_py_json_flags_function_starts_as_methods() -> None:
    doc = json.loads(read_fixture("coveragepy/coverage.json"))
    functions = doc["files"]["shapes/geometry.py"]["functions"]
    starts = {f["start_line"] for name, f in functions.items() if name}  # "" is the module's own code

    lines = only_file(parse_fixture("coveragepy/coverage.json"))

    assert {n for n, cov in lines.items() if cov.method} == starts


def test_coverage_py_xml_matches_its_header_counts() -> None:
    xml = read_fixture("coveragepy/coverage.xml").decode()

    partial = parse_fixture("coveragepy/coverage.xml")
    totals = partial.totals()

    assert totals.lines == _xml_attr(xml, "lines-valid")
    assert totals.hits + totals.partials == _xml_attr(xml, "lines-covered")
    assert branch_sums(all_lines(partial)) == (_xml_attr(xml, "branches-valid"), _xml_attr(xml, "branches-covered"))


def test_coverage_py_xml_and_json_of_one_run_agree_line_by_line() -> None:
    from_xml = only_file(parse_fixture("coveragepy/coverage.xml"))
    from_json = only_file(parse_fixture("coveragepy/coverage.json"))
    # the JSON also names functions; the XML (coverage.py leaves <methods/> empty) does not
    assert {n: (c.status, c.branches) for n, c in from_xml.items()} == {
        n: (c.status, c.branches) for n, c in from_json.items()
    }


def test_gcov_matches_gcov_summary() -> None:
    summary = read_fixture("gcov/gcov_summary.txt").decode()
    lines_pct, lines_total = re.search(r"Lines executed:([\d.]+)% of (\d+)", summary).groups()  # type: ignore[union-attr]
    taken_pct, branches_total = re.search(r"Taken at least once:([\d.]+)% of (\d+)", summary).groups()  # type: ignore[union-attr]
    functions = read_fixture("gcov/calc.c.gcov").decode().count("\nfunction ")

    partial = parse_fixture("gcov/calc.c.gcov")
    totals = partial.totals()

    assert set(partial.files) == {"calc.c"}
    assert totals.lines == int(lines_total)
    assert totals.hits + totals.partials == round(float(lines_pct) * int(lines_total) / 100)
    assert branch_sums(all_lines(partial)) == (int(branches_total), round(float(taken_pct) * int(branches_total) / 100))
    assert totals.methods == functions


def test_lcov_from_geninfo_matches_lcov_summary() -> None:
    summary = read_fixture("lcov/calc_summary.txt").decode()
    (lh, lf), (fh, ff), (bh, bf) = (
        map(int, re.search(rf"\((\d+) of (\d+) {what}\)", summary).groups())  # type: ignore[union-attr]
        for what in ("lines", "functions", "branches")
    )

    partial = parse_fixture("lcov/calc.lcov.info")
    totals = partial.totals()

    # every function of calc.c starts on a line with a DA record, so functions add no lines
    assert totals.lines == lf
    assert totals.hits + totals.partials == lh
    assert branch_sums(all_lines(partial)) == (bf, bh)
    assert totals.methods == ff
    assert sum(1 for c in all_lines(partial) if c.method and c.hits > 0) == fh


def test_lcov_from_nyc_matches_its_summary_records() -> None:
    text = read_fixture("lcov/pricing.lcov.info").decode()
    record = {k: int(v) for k, v in re.findall(r"^(LF|LH|FNF|FNH|BRF|BRH):(\d+)$", text, re.M)}
    da_lines = {int(n) for n in re.findall(r"^DA:(\d+),", text, re.M)}
    fn_lines = {int(n) for n in re.findall(r"^FN:(\d+),", text, re.M)}
    assert not da_lines & fn_lines  # so each function adds one method line

    partial = parse_fixture("lcov/pricing.lcov.info")
    totals = partial.totals()

    assert totals.lines == record["LF"] + record["FNF"]
    assert totals.hits + totals.partials == record["LH"] + record["FNH"]
    assert totals.methods == record["FNF"]
    assert branch_sums(all_lines(partial)) == (record["BRF"], record["BRH"])


def test_istanbul_matches_nyc_text_summary() -> None:
    summary = read_fixture("istanbul/text_summary.txt").decode()
    found = {k: tuple(map(int, v)) for k, *v in re.findall(r"(\w+)\s*: [\d.]+% \( (\d+)/(\d+) \)", summary)}
    doc = json.loads(read_fixture("istanbul/coverage-final.json"))
    (data,) = doc.values()
    statement_lines = {s["start"]["line"] for s in data["statementMap"].values()}
    function_lines = {f["loc"]["start"]["line"] for f in data["fnMap"].values()}
    assert not statement_lines & function_lines  # so each function adds one method line

    partial = parse_fixture("istanbul/coverage-final.json")
    totals = partial.totals()

    assert set(partial.files) == {"tmp/fx/js/pricing.js"}
    lines_covered, lines_total = found["Lines"]
    functions_covered, functions_total = found["Functions"]
    assert totals.lines == lines_total + functions_total
    assert totals.hits + totals.partials == lines_covered + functions_covered
    assert totals.methods == functions_total
    branches_covered, branches_total = found["Branches"]
    assert branch_sums(all_lines(partial)) == (branches_total, branches_covered)


def test_istanbul_and_nyc_lcov_of_one_run_agree_line_by_line() -> None:
    from_json = only_file(parse_fixture("istanbul/coverage-final.json"))
    from_lcov = only_file(parse_fixture("lcov/pricing.lcov.info"))
    assert {n: (c.status, c.method) for n, c in from_json.items()} == {
        n: (c.status, c.method) for n, c in from_lcov.items()
    }


def test_go_coverprofile_agrees_with_go_tool_cover_func() -> None:
    # mathx.go:4: Abs 100.0% / mathx.go:12: Max 66.7% / mathx.go:20: Unused 0.0%
    functions = [
        (int(line), float(pct))
        for line, pct in re.findall(r"mathx\.go:(\d+):\s+\w+\s+([\d.]+)%", read_fixture("go/cover_func.txt").decode())
    ]
    lines = only_file(parse_fixture("go/coverage.out"))
    bounds = [start for start, _ in functions] + [max(lines) + 1]

    for (start, pct), end in zip(functions, bounds[1:], strict=True):
        statuses = {lines[n].status for n in lines if start <= n < end}
        if pct == 100.0:
            assert statuses == {"hit"}
        elif pct == 0.0:
            assert statuses == {"miss"}
        else:
            assert "hit" in statuses and statuses - {"hit"}
    assert not any(c.method for c in lines.values())


def test_jacoco_matches_its_report_counters() -> None:
    xml = read_fixture("jacoco/jacoco.xml").decode()
    report_level = xml[xml.rindex("</package>") :]
    counters = {
        t: (int(m), int(c)) for t, m, c in re.findall(r'type="(\w+)" missed="(\d+)" covered="(\d+)"', report_level)
    }

    partial = parse_fixture("jacoco/jacoco.xml")
    totals = partial.totals()

    assert set(partial.files) == {"com/example/Grades.java"}
    assert totals.misses == counters["LINE"][0]
    assert totals.hits + totals.partials == counters["LINE"][1]
    assert totals.methods == sum(counters["METHOD"])
    missed_branches, covered_branches = counters["BRANCH"]
    assert branch_sums(all_lines(partial)) == (missed_branches + covered_branches, covered_branches)


def test_clover_matches_its_project_metrics() -> None:
    # hand-written sample (see README): its <metrics> were computed by hand from its lines
    xml = read_fixture("clover/clover.xml").decode()
    project = xml[xml.index("<project") : xml.index("<package")]

    partial = parse_fixture("clover/clover.xml")
    totals = partial.totals()

    assert set(partial.files) == {
        "home/ci/grades/src/main/java/com/example/Grades.java",
        "home/ci/grades/src/Util.php",
    }
    statements, conditionals, methods = (_xml_attr(project, k) for k in ("statements", "conditionals", "methods"))
    assert totals.lines == statements + methods + conditionals // 2
    assert totals.methods == methods
    assert branch_sums(all_lines(partial)) == (conditionals, _xml_attr(project, "coveredconditionals"))
    assert sum(1 for c in all_lines(partial) if c.method and c.hits) == _xml_attr(project, "coveredmethods")
    assert (totals.hits, totals.partials, totals.misses) == (11, 2, 4)


def test_simplecov_merges_its_suites() -> None:
    # hand-written (see README). calculator.rb: lines 1,2,3,4,6,9,10 are code; line 4 ran under
    # Minitest, line 6 under RSpec, line 10 never; the `if` on line 3 took `else` in RSpec and
    # `then` in Minitest, so both branches ran. formatter.rb: 3 code lines, 2 ran.
    partial = parse_fixture("simplecov/resultset.json")

    calculator = dict(partial.lines("home/ci/app/lib/calculator.rb"))
    assert sorted(calculator) == [1, 2, 3, 4, 6, 9, 10]
    assert {n for n, c in calculator.items() if c.status == "miss"} == {10}
    assert calculator[3].branches is not None and calculator[3].branches.covered == 2
    totals = partial.totals()
    assert (totals.files, totals.lines, totals.hits, totals.misses, totals.partials) == (2, 10, 8, 2, 0)


def test_simplecov_legacy_shape() -> None:
    lines = only_file(parse_fixture("simplecov/resultset_legacy.json"))
    assert {n: c.hits for n, c in lines.items()} == {1: 1, 2: 1, 3: 0}


def test_every_fixture_is_detected_as_its_format() -> None:
    expected = {
        "coveragepy/coverage.xml": Format.COBERTURA,
        "coveragepy/coverage.json": Format.COVERAGEPY_JSON,
        "gcov/calc.c.gcov": Format.GCOV,
        "lcov/calc.lcov.info": Format.LCOV,
        "lcov/pricing.lcov.info": Format.LCOV,
        "go/coverage.out": Format.GO,
        "istanbul/coverage-final.json": Format.ISTANBUL,
        "jacoco/jacoco.xml": Format.JACOCO,
        "clover/clover.xml": Format.CLOVER,
        "simplecov/resultset.json": Format.SIMPLECOV,
        "simplecov/resultset_legacy.json": Format.SIMPLECOV,
    }
    assert {name: detect_format((FIXTURES / name).read_bytes()) for name in expected} == expected
