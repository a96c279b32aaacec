"""The XML readers that take lines in bulk give exactly what the per-line readers give.

Each document is read both ways: by the bulk reader (cobertura_bulk, clover_bulk, jacoco_bulk)
over its buffer, at several chunk sizes (so chunks end inside lines, attributes and holders),
and by the format's per-line reader (the reference). Odd documents must come out the same too:
lines the bulk reader reads one by one (duplicates, floats, missing attributes), documents it
hands to the reference (lines in unusual places), and errors (the same ReportError code).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from stream_app.coverage import Coverage, ReportError
from stream_app.coverage.parsers import (
    clover,
    clover_bulk,
    cobertura,
    cobertura_bulk,
    jacoco,
    jacoco_bulk,
    parse_report,
    xmlbulk,
)
from stream_app.coverage.parsers.base import FileCoverage
from tests.unit.coverage.support import read_fixture

Parsed = list[tuple[str, dict[int, Coverage]]] | str
PAIRS: dict[str, tuple[ModuleType, ModuleType]] = {
    "cobertura": (cobertura_bulk, cobertura),
    "clover": (clover_bulk, clover),
    "jacoco": (jacoco_bulk, jacoco),
}
CHUNKS = (5, 97, 4096, 1 << 20)


def _files(read: Callable[[], Iterator[FileCoverage]]) -> Parsed:
    try:
        return [(file.path, dict(file.lines)) for file in read()]
    except ReportError as error:
        return f"error {error.code}"


def _reads_alike(fmt: str, document: bytes, monkeypatch: pytest.MonkeyPatch) -> Parsed:
    """Both readers' result (checked equal at every chunk size)."""
    bulk, reference = PAIRS[fmt]
    expected = _files(lambda: reference.parse(io.BytesIO(document)))
    for size in CHUNKS:
        monkeypatch.setattr(xmlbulk, "CHUNK_SIZE", size)
        assert _files(lambda: bulk.parse(memoryview(document))) == expected, f"chunk size {size}"
    return expected


def _irregular_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often a document is handed to the reference reader."""
    handed: list[int] = []
    original = xmlbulk._read

    def counting(*args: object) -> Iterator[FileCoverage]:
        try:
            yield from original(*args)  # type: ignore[arg-type]
        except xmlbulk.Irregular:
            handed.append(1)
            raise

    monkeypatch.setattr(xmlbulk, "_read", counting)
    return handed


# --- generated documents ---------------------------------------------------------------


def _cobertura(rnd: random.Random, *, odd: bool) -> bytes:
    sep = rnd.choice(["", "\n", "\r\n\t\t"])
    classes = []
    for c in range(rnd.randint(1, 6)):
        lines = []
        for n in range(1, rnd.randint(0, 80)):
            number = rnd.choice([n, n, n, rnd.randint(-1, 90)]) if odd else n
            count = rnd.choice([0, 1, 2, 255, 256, 10**12, 2**70] + (["1.0", "-3", " 4", "07"] if odd else []))
            if rnd.random() < 0.2:
                covered, total = rnd.randint(0, 4), rnd.randint(1, 4)
                missing = ",".join(str(rnd.randint(1, 99)) for _ in range(max(total - covered, 0)))
                extra = f' missing-branches="{missing}"' if rnd.random() < 0.7 else ""
                lines.append(
                    f'<line number="{number}" hits="{count}" branch="true" '
                    f'condition-coverage="{100 * covered // total}% ({covered}/{total})"{extra}/>'
                )
            elif odd and rnd.random() < 0.05:
                lines.append(f'<line number="{number}"/>')  # no hits: 0
            else:
                flag = rnd.choice(["", ' branch="false"'])
                lines.append(f'<line number="{number}" hits="{count}"{flag}/>')
        methods = []
        for m in range(rnd.randint(0, 3)):
            body = sep.join(
                f'<line number="{rnd.randint(1, 40)}" hits="{rnd.randint(0, 3)}"/>' for _ in range(rnd.randint(0, 20))
            )
            methods.append(f'<method name="m{m}" signature="()V"><lines>{body}</lines></method>')
        filename = f' filename="pkg/m{c % 4}.py"' if rnd.random() < 0.9 else ""
        classes.append(
            f'<class name="c{c}"{filename}><methods>{sep.join(methods)}</methods>{sep}'
            f"<lines>{sep}{sep.join(lines)}{sep}</lines></class>"
        )
    packages = sep.join(f"<package><classes>{sep.join(classes[i::2])}</classes></package>" for i in range(2))
    return f'<?xml version="1.0" ?>{sep}<coverage><packages>{packages}</packages></coverage>'.encode()


def _clover(rnd: random.Random, *, odd: bool) -> bytes:
    sep = rnd.choice(["", "\n", "\r\n  "])
    count_on_conds = rnd.random() < 0.5
    files = []
    for f in range(rnd.randint(1, 6)):
        lines = []
        for n in range(1, rnd.randint(0, 80)):
            number = rnd.choice([n, n, n, rnd.randint(-1, 90)]) if odd else n
            count = rnd.choice([0, 1, 3, 255, 256, 10**15] + (["-2", "1.0", "x1"] if odd else []))
            kind = rnd.choice(["stmt", "stmt", "stmt", "method", "cond"] + (["", "other"] if odd else []))
            if kind == "cond":
                counted = f' count="{count}"' if count_on_conds else ""
                lines.append(
                    f'<line num="{number}" type="cond" truecount="{rnd.randint(0, 2)}" '
                    f'falsecount="{rnd.randint(0, 2)}"{counted}/>'
                )
            elif kind == "":
                lines.append(f'<line num="{number}" count="{count}"/>')  # no type: stmt
            else:
                lines.append(f'<line num="{number}" type="{kind}" name="f" count="{count}"/>')
        lines.insert(rnd.randint(0, len(lines)), '<class name="C"><metrics statements="1"/></class>')
        lines.append('<metrics loc="1" statements="1"/>')
        path = rnd.choice([f' path="/src/F{f % 4}.php" name="F.php"', f' name="F{f}.php"', ""])
        files.append(f"<file{path}>{sep.join(lines)}</file>")
    packages = sep.join(f'<package name="p{i}">{sep.join(files[i::2])}</package>' for i in range(2))
    return f'<?xml version="1.0"?><coverage><project>{packages}<metrics/></project></coverage>'.encode()


def _jacoco(rnd: random.Random, *, odd: bool) -> bytes:
    packages = []
    for p in range(rnd.randint(1, 3)):
        parts = []
        for s in range(rnd.randint(1, 4)):
            methods = "".join(
                f'<method name="m" desc="()V" line="{rnd.randint(1, 50)}">'
                f'<counter type="METHOD" missed="0" covered="{rnd.randint(0, 1)}"/></method>'
                for _ in range(rnd.randint(0, 4))
            )
            parts.append(f'<class name="p{p}/C{s}" sourcefilename="C{s % 3}.java">{methods}</class>')
        for s in range(rnd.randint(1, 4)):
            lines = []
            for n in range(1, rnd.randint(0, 80)):
                number = rnd.choice([n, n, n, rnd.randint(-1, 90)]) if odd else n
                ci = rnd.choice([0, 1, 5, 300] + (["1.0", "-1"] if odd else []))
                mb, cb = rnd.choice([(0, 0), (0, 0), (1, 1), (2, 0), (0, 3)] + ([("00", "0"), (-1, 1)] if odd else []))
                lines.append(f'<line nr="{number}" mi="1" ci="{ci}" mb="{mb}" cb="{cb}"/>')
            lines.append('<counter type="LINE" missed="1" covered="1"/>')
            parts.append(f'<sourcefile name="C{s}.java">{"".join(lines)}</sourcefile>')
        name = rnd.choice([f"p{p}", f"/p{p}/", ""])
        packages.append(f'<package name="{name}">{"".join(parts)}</package>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC '
        '"-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="r">' + "".join(packages) + "</report>"
    ).encode()


MAKERS = {"cobertura": _cobertura, "clover": _clover, "jacoco": _jacoco}


@pytest.mark.parametrize("fmt", list(PAIRS))
@pytest.mark.parametrize("seed", range(12))
def test_generated_reports_read_alike(fmt: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    handed = _irregular_count(monkeypatch)
    document = MAKERS[fmt](random.Random(seed), odd=False)
    parsed = _reads_alike(fmt, document, monkeypatch)
    assert not isinstance(parsed, str)
    assert not handed  # regular documents never need the per-line reader


@pytest.mark.parametrize("fmt", list(PAIRS))
@pytest.mark.parametrize("seed", range(12))
def test_odd_lines_read_alike(fmt: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # duplicates, numbers below 1, floats, negative and huge counts, missing attributes, garbage
    _reads_alike(fmt, MAKERS[fmt](random.Random(seed), odd=True), monkeypatch)


@pytest.mark.parametrize(
    ("fmt", "fixture"),
    [
        ("cobertura", "coveragepy/coverage.xml"),
        ("cobertura", "coveragepy/coverage_other.xml"),
        ("clover", "clover/clover.xml"),
        ("jacoco", "jacoco/jacoco.xml"),
    ],
)
def test_real_tool_reports_read_alike(fmt: str, fixture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    handed = _irregular_count(monkeypatch)
    parsed = _reads_alike(fmt, read_fixture(fixture), monkeypatch)
    assert parsed and not isinstance(parsed, str)
    assert not handed


LINE = '<line number="3" hits="1"/>'
IRREGULAR = {
    "line in a class": f'<class filename="a.py">{LINE}<lines><line number="1" hits="1"/></lines></class>',
    "line under a package": f'<class filename="a.py"><lines>{LINE}</lines></class><lines>{LINE}</lines>',
    "lines in a line": f'<class filename="a.py"><lines><line number="1" hits="2"><lines>{LINE}</lines></line></lines>'
    "</class>",
    "line in a line": f'<class filename="a.py"><lines><line number="1" hits="2">{LINE}</line></lines></class>',
    "class in a class": f'<class filename="a.py"><lines>{LINE}</lines><class filename="b.py"><lines>{LINE}'
    f"</lines></class><lines>{LINE.replace('3', '4')}</lines></class>",
    "method right under a class": f'<class filename="a.py"><method><lines>{LINE}</lines></method></class>',
    "lines of a filename outside classes": f'<foo filename="x.py"><methods><method><lines>{LINE}</lines></method>'
    f'</methods></foo><class filename="a.py"><lines>{LINE}</lines></class>',
    "line in another element of lines": f'<class filename="a.py"><lines><x>{LINE}</x>{LINE}</lines></class>',
    "only stray lines": f"<lines>{LINE}</lines>",
}


@pytest.mark.parametrize("body", list(IRREGULAR.values()), ids=list(IRREGULAR))
def test_cobertura_lines_in_unusual_places_read_as_line_by_line(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    handed = _irregular_count(monkeypatch)
    good = f'<class filename="first.py"><lines>{LINE}</lines></class>'
    document = f"<coverage><packages><package><classes>{good}{body}{good}</classes></package></packages></coverage>"
    _reads_alike("cobertura", document.encode(), monkeypatch)
    assert handed


@pytest.mark.parametrize(
    ("fmt", "document"),
    [
        ("clover", '<coverage><project><file name="a"><line num="1" count="1"/></file><line num="2"/></project>'),
        ("clover", '<coverage><project><file name="a"><file name="b"><line num="1"/></file></file></project>'),
        ("clover", '<coverage><project><file name="a"><class><line num="1" count="1"/></class></file></project>'),
        ("jacoco", '<report><package name="p"><sourcefile name="A"><x><line nr="1"/></x></sourcefile></package>'),
        ("jacoco", '<report><package name="p"><class name="A"><line nr="1" ci="1"/></class></package>'),
        ("jacoco", '<report><sourcefile name="A"><sourcefile name="B"><line nr="1"/></sourcefile></sourcefile>'),
    ],
)
def test_clover_and_jacoco_lines_in_unusual_places(fmt: str, document: str, monkeypatch: pytest.MonkeyPatch) -> None:
    handed = _irregular_count(monkeypatch)
    closing = "</coverage>" if fmt == "clover" else "</report>"
    _reads_alike(fmt, (document + closing).encode(), monkeypatch)
    assert handed


@pytest.mark.parametrize(
    "document",
    [
        # character references, a CDATA section and a comment where a reader could trip
        b'<coverage><packages><package><classes><class filename="a&#46;py"><lines><!-- <line number="9" hits="9"/> -->'
        b'<line number="&#49;" hits="2"/><line number="2" hits="&#51;"/></lines></class></classes></package>'
        b"</packages></coverage>",
        b"<coverage><packages><package><classes><class filename='a.py'><lines><line hits='2' number='1'/>"
        b"<line\n number = '2'\thits='1' branch='true' condition-coverage='50% (1/2)' missing-branches='7'/>"
        b"</lines></class></classes></package></packages></coverage>",
        "<coverage><packages><package><classes><class filename='ä.py'><lines><line number='1' hits='2'/>"
        "</lines></class></classes></package></packages></coverage>".encode("utf-16"),
        b'<coverage xmlns="urn:x"><packages><package><classes><class filename="a.py"><lines>'
        b'<line number="1" hits="1"/></lines></class></classes></package></packages></coverage>',
        b'<coverage><packages><package><classes><class filename="a.py"><lines><line number="1" hits="1"/>'
        b'<line number="x" hits="1"/></lines></class></classes></package></packages></coverage>',
        b'<coverage><packages><package><classes><class filename="a.py"><lines><line number="1" hits="1"/>',
        b'<coverage><packages><package><classes><class filename="a.py"><lines><line hits="1"/>'
        b'<line number="2" hits="1"/></lines></class></classes></package></packages></coverage>',
        b'<coverage><packages><package><classes><class filename="a.py"><lines><line hits="1" branch="true"/>'
        b"</lines></class></classes></package></packages></coverage>",
    ],
    ids=[
        "references",
        "quotes and blanks",
        "utf-16",
        "default namespace",
        "garbage number",
        "truncated",
        "line without a number",
        "only line without a number",
    ],
)
def test_cobertura_documents_of_any_syntax_read_alike(document: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _reads_alike("cobertura", document, monkeypatch)


def test_methods_spanning_chunks_keep_their_lowest_line(monkeypatch: pytest.MonkeyPatch) -> None:
    in_method = "".join(f'<line number="{n}" hits="{h}"/>' for n, h in [(9, 0), (4, 2), (7, 0), (4, 0), (12, 1)] * 6)
    own = "".join(f'<line number="{n}" hits="0"/>' for n in range(1, 13))
    document = (
        f'<coverage><packages><package><classes><class filename="a.py"><methods><method name="m"><lines>{in_method}'
        f"</lines></method></methods><lines>{own}</lines></class></classes></package></packages></coverage>"
    ).encode()
    parsed = _reads_alike("cobertura", document, monkeypatch)
    assert not isinstance(parsed, str)
    assert parsed[0][1][4] == Coverage(2, None, True)  # the first line 4 of the method


def test_a_large_document_is_read_through_parse_report(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(5)
    document = _cobertura(rnd, odd=False)
    _, files = parse_report(document)
    assert [(f.path, dict(f.lines)) for f in files] == _files(lambda: cobertura.parse(io.BytesIO(document)))
