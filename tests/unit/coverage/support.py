"""Helpers for the coverage tests: fixture files and small sums over parsed coverage."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stream_app.coverage import Coverage, PartialReport, parse_upload
from stream_app.coverage.parsers import native

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "coverage"


def read_fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def parse_fixture(relative: str, *, session_id: int = 0, flags: tuple[str, ...] = ()) -> PartialReport:
    return parse_upload(read_fixture(relative), session_id=session_id, flags=flags)


def branch_sums(coverages: Iterable[Coverage]) -> tuple[int, int]:
    """(branches in total, branches covered) over some lines."""
    total = covered = 0
    for coverage in coverages:
        if coverage.branches is not None:
            total += coverage.branches.total
            covered += coverage.branches.covered
    return total, covered


def all_lines(partial: PartialReport) -> list[Coverage]:
    return [cov for path in partial.files for _, cov in partial.lines(path)]


def only_file(partial: PartialReport) -> dict[int, Coverage]:
    (path,) = partial.files
    return dict(partial.lines(path))


@contextmanager
def pure_python() -> Iterator[None]:
    """The line formats read without the C scanner: its pure-Python reference."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(native, "scanner", None)
        yield
