"""Hostile XML is refused with corrupt_report and never expanded; real tools' DOCTYPEs still parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream_app.coverage import CORRUPT_REPORT, ReportError, parse_upload
from stream_app.coverage.parsers import parse_report
from tests.unit.coverage.support import read_fixture

LINES = (
    b'<packages><package><classes><class filename="a.py"><lines><line number="1" hits="1"/></lines>'
    b"</class></classes></package></packages>"
)

BILLION_LAUGHS = (
    b"""<?xml version="1.0"?>
<!DOCTYPE coverage [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<coverage line-rate="&lol9;">"""
    + LINES
    + b"</coverage>"
)

HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": b'<?xml version="1.0"?>\n<!DOCTYPE coverage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<coverage><packages><package><classes><class filename="&xxe;"><lines><line number="1" hits="1"/>'
    b"</lines></class></classes></package></packages></coverage>",
    "parameter entity": b'<!DOCTYPE coverage [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>'
    b"<coverage>" + LINES + b"</coverage>",
    "external DTD": b'<?xml version="1.0"?>\n<!DOCTYPE coverage SYSTEM "http://127.0.0.1:9/evil.dtd">\n<coverage>'
    + LINES
    + b"</coverage>",
    "allowed public id with internal subset": b'<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd" '
    b'[<!ENTITY x "y">]><report name="&x;"/>',
    "DTD after a long prolog": b"<?xml version='1.0'?>" + b"<!--" + b"x" * 70_000 + b"-->"
    b'<!DOCTYPE coverage [<!ENTITY a "b">]><coverage>' + LINES + b"</coverage>",
    "UTF-16 billion laughs": BILLION_LAUGHS.replace(
        b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>'
    )
    .decode()
    .encode("utf-16"),
    "undefined entity": b"<coverage>" + LINES.replace(b'filename="a.py"', b'filename="&passwd;"') + b"</coverage>",
}


@pytest.mark.parametrize("document", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_xml_is_a_corrupt_report(document: bytes) -> None:
    with pytest.raises(ReportError) as caught:
        parse_upload(document, session_id=0)
    assert caught.value.code == CORRUPT_REPORT


def test_a_hostile_report_inside_a_bundle_fails_the_upload() -> None:
    bundle = b"# path=lcov.info\nSF:a.py\nDA:1,1\nend_of_record\n<<<<<< EOF\n# path=bad.xml\n" + BILLION_LAUGHS
    with pytest.raises(ReportError) as caught:
        parse_upload(bundle, session_id=0)
    assert caught.value.code == CORRUPT_REPORT


@pytest.mark.parametrize(
    "broken",
    [
        b"<coverage><packages><package><classes><class filename='a.py'><lines><line number='1' hits='1'/>",
        b"<coverage><packages></coverage>",
        b'<coverage><packages><package><classes><class filename="a.py"><lines><line number="x" hits="1"/>'
        b"</lines></class></classes></package></packages></coverage>",
    ],
    ids=["truncated", "mismatched tags", "line number not a number"],
)
def test_broken_xml_is_a_corrupt_report(broken: bytes) -> None:
    with pytest.raises(ReportError) as caught:
        parse_upload(broken, session_id=0)
    assert caught.value.code == CORRUPT_REPORT


def test_the_real_jacoco_doctype_is_accepted() -> None:
    assert parse_upload(read_fixture("jacoco/jacoco.xml"), session_id=0).totals().lines == 12


@pytest.mark.parametrize("standalone", [True, False])
def test_the_dtd_of_an_allowed_doctype_is_never_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standalone: bool
) -> None:
    # Given a report.dtd where the process runs that would leak /etc/passwd if it were ever loaded
    (tmp_path / "report.dtd").write_text('<!ENTITY leak SYSTEM "file:///etc/passwd">')
    monkeypatch.chdir(tmp_path)
    document = read_fixture("jacoco/jacoco.xml").replace(
        b'<sourcefile name="Grades.java">', b'<sourcefile name="&leak;G.java">'
    )
    if not standalone:
        document = document.replace(b' standalone="yes"', b"")

    # When it is parsed: JaCoCo's standalone="yes" makes the unknown entity fatal; without it
    # libxml2 drops the reference. Either way nothing is expanded.
    if standalone:
        with pytest.raises(ReportError) as caught:
            parse_upload(document, session_id=0)
        assert caught.value.code == CORRUPT_REPORT
    else:
        _, files = parse_report(document)
        assert [f.path for f in files] == ["com/example/G.java"]


def test_the_java_cobertura_doctype_is_accepted() -> None:
    document = (
        b'<?xml version="1.0"?>\n<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n'
        b"<coverage>" + LINES + b"</coverage>"
    )
    assert parse_upload(document, session_id=0).totals().lines == 1
