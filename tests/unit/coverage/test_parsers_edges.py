"""Format details the real-tool fixtures do not show: older/newer variants and odd records."""

from __future__ import annotations

from stream_app.coverage import Branches, Coverage, hits
from stream_app.coverage.parsers import Format, detect_format, parse_report


def _files(raw: bytes) -> dict[str, dict[int, Coverage]]:
    _, files = parse_report(raw)
    out: dict[str, dict[int, Coverage]] = {}
    for file in files:
        out.setdefault(file.path, {}).update(file.lines)
    return out


JAVA_COBERTURA = b"""<?xml version="1.0"?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage line-rate="0.5" branch-rate="0.5" lines-covered="3" lines-valid="6" version="2.1.1" timestamp="1">
  <sources><source>/ci/src/main/java</source></sources>
  <packages><package name="com.example" line-rate="0.5"><classes>
    <class name="com.example.Foo" filename="com/example/Foo.java" line-rate="0.5">
      <methods>
        <method name="bar" signature="(I)I" line-rate="1.0">
          <lines><line number="5" hits="3" branch="false"/><line number="6" hits="3" branch="true"
            condition-coverage="50% (1/2)"><conditions><condition number="0" type="jump" coverage="50%"/>
            </conditions></line></lines>
        </method>
        <method name="unused" signature="()V" line-rate="0.0">
          <lines><line number="10" hits="0" branch="false"/></lines>
        </method>
      </methods>
      <lines>
        <line number="5" hits="3" branch="false"/>
        <line number="6" hits="3" branch="true" condition-coverage="50% (1/2)"/>
        <line number="10" hits="0" branch="false"/>
      </lines>
    </class>
    <class name="com.example.Foo$Inner" filename="com/example/Foo.java" line-rate="0.5">
      <methods/>
      <lines><line number="20" hits="1.0" branch="false"/><line number="21" hits="0" branch="false"/></lines>
    </class>
  </classes></package></packages>
</coverage>
"""


def test_java_cobertura_methods_conditions_and_inner_classes() -> None:
    lines = _files(JAVA_COBERTURA)["com/example/Foo.java"]
    assert lines == {
        5: Coverage(3, None, True),
        6: Coverage(3, Branches(1, 2)),
        10: Coverage(0, None, True),
        20: hits(1),
        21: hits(0),
    }


def test_gcov_variants() -> None:
    raw = b"""        -:    0:Source:src/lib.cpp
        -:    0:Runs:2
function _Z3fooi called 1200 returned 100% blocks executed 50%
     1.2k:    3:int foo(int x) {
     1.2k:    4:  if (x) return 1;
branch  0 taken 1200
branch  1 taken 0
    =====:    5:  throw 1;
        1:    6:  return 0;
branch  0 never executed
------------------
_Z3fooi:
        2:    6:  return 0;
"""
    lines = _files(raw)["src/lib.cpp"]
    assert lines[3] == Coverage(1200, None, True)
    assert lines[4] == Coverage(1200, Branches(1, 2, ("1",)))
    assert lines[5] == hits(0)
    assert lines[6] == Coverage(2, Branches(0, 1, ("0",)))  # the second instantiation merged in


def test_lcov_2_records_and_missing_end_of_record() -> None:
    raw = b"""TN:t
SF:/ci/src/a.c
FNL:0,3,9
FNA:0,4,main
FN:12,helper<int, char>
FNDA:0,helper<int, char>
DA:3,4,checksum==
DA:4,0
BRDA:4,0,0,-
BRDA:4,0,1,2
BRDA:5,e0,jump to line 7,1
"""
    lines = _files(raw)["/ci/src/a.c"]
    assert lines[3] == Coverage(4, None, True)
    assert lines[4] == Coverage(0, Branches(1, 2, ("0:0",)))
    assert lines[5] == Coverage(1, Branches(1, 1, ()))  # branch without DA: the line ran
    assert lines[12] == Coverage(0, None, True)


def test_go_set_mode_several_files_and_repeated_blocks() -> None:
    raw = b"""mode: set
example.com/m/a.go:3.20,5.2 2 1
example.com/m/a.go:7.10,7.20 1 0
example.com/m/a.go:7.20,9.3 1 1
example.com/m/a.go:7.10,7.20 1 1
example.com/m/b.go:1.1,1.30 1 0
"""
    files = _files(raw)
    assert files["example.com/m/a.go"] == {
        3: hits(1),
        4: hits(1),  # 5.2: a lone closing brace ends the block
        7: Coverage(1, Branches(2, 2, ())),  # the repeated block was hit in the merged profile
        8: hits(1),
        9: hits(1),
    }
    assert files["example.com/m/b.go"] == {1: hits(0)}


def test_istanbul_data_wrapper_and_skipped_statements() -> None:
    raw = b"""{"src/a.js": {"data": {"path": "src/a.js",
      "statementMap": {"0": {"start": {"line": 1, "column": 0}, "end": {"line": 1, "column": 9}},
                       "1": {"start": {"line": 2, "column": 0}, "end": {"line": 2, "column": 9}, "skip": true}},
      "s": {"0": 3, "1": 0}, "fnMap": {}, "f": {}, "branchMap": {}, "b": {}}}}"""
    assert _files(raw) == {"src/a.js": {1: hits(3)}}


def test_coverage_py_json_without_branch_data() -> None:
    raw = b'{"meta": {"format": 2}, "files": {"a.py": {"executed_lines": [1, 2], "missing_lines": [3]}}}'
    assert _files(raw) == {"a.py": {1: hits(1), 2: hits(1), 3: hits(0)}}


def test_jacoco_groups_default_package_and_classes_without_source() -> None:
    raw = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<report name="multi"><group name="module-a">
  <package name=""><class name="Main" sourcefilename="Main.java">
      <method name="main" desc="()V" line="2"><counter type="METHOD" missed="0" covered="1"/></method></class>
    <class name="Gen" sourcefilename="Gen.java"><method name="g" desc="()V" line="1"/></class>
    <sourcefile name="Main.java"><line nr="2" mi="0" ci="2" mb="0" cb="0"/><line nr="3" mi="1" ci="0" mb="2" cb="0"/>
    </sourcefile></package>
</group></report>"""
    assert _files(raw) == {"Main.java": {2: Coverage(1, None, True), 3: Coverage(0, Branches(0, 2))}}


def test_clover_cond_line_with_count() -> None:
    raw = b"""<coverage generated="1"><project timestamp="1"><file name="a.php">
      <line num="3" type="cond" count="7" truecount="0" falsecount="7"/></file></project></coverage>"""
    assert _files(raw) == {"a.php": {3: Coverage(7, Branches(1, 2, ("true",)))}}


def test_detection_of_text_formats_without_their_usual_first_line() -> None:
    assert detect_format(b"\n\nSF:a.c\nDA:1,1\nend_of_record\n") == Format.LCOV
    assert detect_format(b"github.com/x/y/a.go:1.1,2.2 1 0\n") == Format.GO
    assert detect_format(b"\xef\xbb\xbf<?xml version='1.0'?><coverage><packages/></coverage>") == Format.COBERTURA
    assert detect_format(b'<?xml version="1.0"?><coverage clover="4"><project/></coverage>') == Format.CLOVER


def test_a_go_block_spanning_an_absurd_line_range_is_corrupt_not_a_memory_bomb() -> None:
    import pytest

    from stream_app.coverage import ReportError
    from stream_app.coverage.parsers import parse_report

    profile = b"mode: count\nexample.com/a/a.go:1.1,999999999999.3 1 1\n"
    with pytest.raises(ReportError) as caught:
        list(parse_report(profile)[1])
    assert caught.value.code == "corrupt_report"
