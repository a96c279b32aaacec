"""The commit report: per file, per line, the coverage of every session and their merge.

The finisher builds it by merging the uploads' partial reports in session order. Merging a
partial whose session id is already in the report replaces that session's data, so merging
the same upload twice is a no-op. `merge_partials` merges many at once with the same result as
merging them one by one, building each line once instead of once per session (a line seen by
20 uploads otherwise becomes 20 successive `Line` objects, each re-sorting its sessions).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce

from stream_app.coverage.linecov import Coverage, merge
from stream_app.coverage.partial import PartialReport
from stream_app.coverage.session import Session
from stream_app.coverage.totals import LineCounts, Totals

SessionCoverage = tuple[int, Coverage]


@dataclass(frozen=True, slots=True)
class Line:
    coverage: Coverage  # merged over `sessions`
    sessions: tuple[SessionCoverage, ...]  # (session id, that session's coverage), by session id

    @classmethod
    def of(cls, sessions: Iterable[SessionCoverage]) -> Line:
        ordered = tuple(sorted(sessions, key=lambda s: s[0]))
        return cls(reduce(merge, (cov for _, cov in ordered)), ordered)

    def with_session(self, session_id: int, coverage: Coverage) -> Line:
        if any(sid == session_id for sid, _ in self.sessions):
            return Line.of([*(s for s in self.sessions if s[0] != session_id), (session_id, coverage)])
        return Line(merge(self.coverage, coverage), tuple(sorted((*self.sessions, (session_id, coverage)))))

    def only(self, session_ids: Collection[int]) -> Line | None:
        kept = [s for s in self.sessions if s[0] in session_ids]
        if len(kept) == len(self.sessions):
            return self
        return Line.of(kept) if kept else None


@dataclass(slots=True)
class ReportFile:
    name: str
    lines: dict[int, Line] = field(default_factory=dict)

    def add_session(self, session_id: int, lines: Iterable[tuple[int, Coverage]]) -> None:
        for number, coverage in lines:
            known = self.lines.get(number)
            self.lines[number] = (
                Line(coverage, ((session_id, coverage),)) if known is None else known.with_session(session_id, coverage)
            )

    def add_sessions(self, lines: dict[int, list[SessionCoverage]]) -> None:
        """New sessions' coverage per line, each line's in merge order (sessions not in the file yet)."""
        for number, new in lines.items():
            known = self.lines.get(number)
            if known is None and len(new) == 1:
                self.lines[number] = Line(new[0][1], (new[0],))
                continue
            covs = (cov for _, cov in new)
            merged = reduce(merge, covs) if known is None else reduce(merge, covs, known.coverage)
            self.lines[number] = Line(merged, tuple(sorted(new if known is None else (*known.sessions, *new))))

    def only(self, session_ids: Collection[int]) -> ReportFile:
        kept = ((n, line.only(session_ids)) for n, line in self.lines.items())
        return ReportFile(self.name, {n: line for n, line in kept if line is not None})

    def counts(self) -> LineCounts:
        return LineCounts.of(line.coverage for line in self.lines.values())

    def totals(self) -> Totals:
        sessions = {sid for line in self.lines.values() for sid, _ in line.sessions}
        return Totals.of([self.counts()], sessions=len(sessions))


@dataclass(slots=True)
class Report:
    sessions: dict[int, Session] = field(default_factory=dict)
    files: dict[str, ReportFile] = field(default_factory=dict)

    def merge_partial(self, partial: PartialReport) -> None:
        """Add one upload's coverage; an already merged session is replaced, not doubled."""
        session_id = partial.session.id
        if session_id in self.sessions:
            self._drop_session(session_id)
        self.sessions[session_id] = partial.session
        for path, table in partial.files.items():
            self.files.setdefault(path, ReportFile(path)).add_session(session_id, table.items())

    def merge_partials(self, partials: Sequence[PartialReport]) -> None:
        """`merge_partial` of each in order, with each line built once from all its new sessions."""
        ids = [partial.session.id for partial in partials]
        if len(set(ids)) < len(ids):  # one session twice: the one-by-one rules say which wins
            for partial in partials:
                self.merge_partial(partial)
            return
        replaced = set(ids) & set(self.sessions)
        if replaced:
            self._drop_sessions(replaced)
        new: dict[str, dict[int, list[SessionCoverage]]] = {}
        for partial in partials:
            session_id = partial.session.id
            self.sessions[session_id] = partial.session
            for path, table in partial.files.items():
                lines = new.setdefault(path, {})
                for number, coverage in table.items():
                    lines.setdefault(number, []).append((session_id, coverage))
        for path, lines in new.items():
            self.files.setdefault(path, ReportFile(path)).add_sessions(lines)

    def _drop_session(self, session_id: int) -> None:
        self._drop_sessions({session_id})

    def _drop_sessions(self, session_ids: Collection[int]) -> None:
        keep = set(self.sessions) - set(session_ids)
        for session_id in session_ids:
            del self.sessions[session_id]
        self.files = {p: f for p, f in ((p, f.only(keep)) for p, f in self.files.items()) if f.lines}

    def filter(self, *, flags: Collection[str] | None = None, session_ids: Collection[int] | None = None) -> Report:
        """The report seen through some sessions only: those with any of `flags` and/or in `session_ids`."""
        chosen = {
            sid
            for sid, session in self.sessions.items()
            if (flags is None or session.has_any_flag(flags)) and (session_ids is None or sid in session_ids)
        }
        files = {p: f for p, f in ((p, f.only(chosen)) for p, f in self.files.items()) if f.lines}
        return Report({sid: self.sessions[sid] for sid in sorted(chosen)}, files)

    def totals(self) -> Totals:
        return Totals.of((f.counts() for f in self.files.values()), sessions=len(self.sessions))

    def flag_totals(self, flag: str) -> Totals:
        return self.filter(flags=[flag]).totals()

    def file_totals(self) -> Iterator[tuple[str, Totals]]:
        for path, report_file in self.files.items():
            yield path, report_file.totals()
