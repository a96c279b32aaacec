"""A large generated Cobertura report parses with memory far below its size (tracemalloc peak)."""

from __future__ import annotations

import mmap
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream_app.coverage import parse_upload_file
from stream_app.coverage.parsers import parse_report

SIZE = 20 * 1024 * 1024
LINES_PER_FILE = 2000


def _class(index: int) -> str:
    """A coverage.py-style class: every 10th line a partial branch line naming its missing branch."""
    rows = [
        f'\t\t\t\t\t<line number="{n}" hits="{n % 3}" branch="true" condition-coverage="50% (1/2)" '
        f'missing-branches="{n + 2}"/>\n'
        if n % 10 == 0
        else f'\t\t\t\t\t<line number="{n}" hits="{n % 4}"/>\n'
        for n in range(1, LINES_PER_FILE + 1)
    ]
    return (
        f'\t\t\t<class name="m{index}.py" filename="pkg/m{index}.py" complexity="0" line-rate="0.5" '
        f'branch-rate="0.5">\n\t\t\t\t<methods/>\n\t\t\t\t<lines>\n{"".join(rows)}\t\t\t\t</lines>\n\t\t\t</class>\n'
    )


@pytest.fixture(scope="module")
def big_cobertura(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    path = tmp_path_factory.mktemp("large") / "coverage.xml"
    classes = 0
    with path.open("w") as out:
        out.write('<?xml version="1.0" ?>\n<coverage version="7.6.1">\n\t<packages>\n\t\t<package name="pkg">\n')
        out.write("\t\t<classes>\n")
        while out.tell() < SIZE:
            out.write(_class(classes))
            classes += 1
        out.write("\t\t</classes>\n\t\t</package>\n\t</packages>\n</coverage>\n")
    yield path, classes
    path.unlink()


def test_streaming_parse_keeps_a_few_percent_of_the_file_in_memory(big_cobertura: tuple[Path, int]) -> None:
    path, classes = big_cobertura
    size = path.stat().st_size
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        tracemalloc.start()
        try:
            _, files = parse_report(view)
            seen = sum(len(f.lines) for f in files)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            view.release()

    assert seen == classes * LINES_PER_FILE
    assert peak < size * 0.10, f"peak {peak} bytes for a {size} byte report"


def test_parsed_upload_is_far_smaller_than_the_report(big_cobertura: tuple[Path, int]) -> None:
    # The partial report keeps 8 bytes per plain line and ~80 per branch line (its missing-branch
    # name included); the XML markup around each line is gone.
    path, classes = big_cobertura
    size = path.stat().st_size
    tracemalloc.start()
    try:
        partial = parse_upload_file(path, session_id=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    totals = partial.totals()
    assert (totals.files, totals.lines) == (classes, classes * LINES_PER_FILE)
    assert totals.partials == classes * LINES_PER_FILE // 10
    assert peak < size * 0.5, f"peak {peak} bytes for a {size} byte report"
