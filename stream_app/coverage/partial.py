"""PartialReport: what one upload (one session) contributes, before the finisher merges it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from stream_app.coverage.linecov import Coverage
from stream_app.coverage.linetable import LineTable
from stream_app.coverage.session import Session
from stream_app.coverage.totals import Totals


class PartialReport:
    """One session's per-file line coverage. Adding a file twice merges it (max hits, branch union)."""

    __slots__ = ("files", "session")

    def __init__(self, session: Session, files: dict[str, LineTable] | None = None) -> None:
        self.session = session
        self.files: dict[str, LineTable] = files if files is not None else {}

    def add_file(self, path: str, lines: Mapping[int, Coverage] | LineTable) -> None:
        """A parsed file's lines; a LineTable is kept as it is (tables are never changed)."""
        if not len(lines):
            return
        known = self.files.get(path)
        if known is not None:
            table = known.merged_with(lines)
        else:
            table = lines if isinstance(lines, LineTable) else LineTable.from_mapping(lines)
        if len(table):
            self.files[path] = table

    def lines(self, path: str) -> Iterator[tuple[int, Coverage]]:
        table = self.files.get(path)
        return iter(()) if table is None else table.items()

    def totals(self) -> Totals:
        return Totals.of((table.counts() for table in self.files.values()), sessions=1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartialReport) and (self.session, self.files) == (other.session, other.files)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PartialReport(session={self.session!r}, files={len(self.files)})"
