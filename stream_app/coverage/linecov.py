"""One line's coverage, from one session or merged over several, and the merge rules.

A line has a hit count, optionally branches (covered of total, with the ids of the missing
branches when the format names them) and may be a method line. Merging two coverages of the
same line (two sessions, or two reports inside one upload):

* hits: the highest count (a line covered by any session is covered);
* branches: the union. When both sides name their missing branches and agree on the total,
  the merged missing set is the intersection, so "1/2 missing a" + "1/2 missing b" is "2/2".
  Otherwise the best count of each side is kept (max covered, max total);
* method: a method line in any session stays a method line.

A line is a *hit* when it ran and every branch ran, *partial* when it ran (or some branch
ran) but not every branch did, and a *miss* when nothing ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Status = Literal["hit", "partial", "miss"]
MAX_HITS: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Branches:
    covered: int
    total: int
    # Sorted ids of the branches not taken, when the format names them (else None).
    missing: tuple[str, ...] | None = None

    @classmethod
    def from_missing(cls, total: int, missing: set[str] | tuple[str, ...]) -> Branches:
        ids = tuple(sorted(set(missing)))
        return cls(max(total - len(ids), 0), total, ids)


@dataclass(frozen=True, slots=True)
class Coverage:
    hits: int
    branches: Branches | None = None
    method: bool = False

    @property
    def status(self) -> Status:
        branches = self.branches
        if branches is None or branches.total == 0:
            return "hit" if self.hits > 0 else "miss"
        if self.hits <= 0 and branches.covered <= 0:
            return "miss"
        return "hit" if branches.covered >= branches.total else "partial"


_PLAIN: Final = tuple(Coverage(h) for h in range(256))


def hits(count: int) -> Coverage:
    """A plain line: the small counts are shared instances, so millions of lines stay cheap."""
    if 0 <= count < 256:
        return _PLAIN[count]
    return Coverage(min(max(count, 0), MAX_HITS))


def merge_branches(a: Branches | None, b: Branches | None) -> Branches | None:
    if a is None:
        return b
    if b is None:
        return a
    if a.missing is not None and b.missing is not None and a.total == b.total:
        return Branches.from_missing(a.total, set(a.missing) & set(b.missing))
    total = max(a.total, b.total)
    return Branches(min(max(a.covered, b.covered), total), total)


def merge(a: Coverage, b: Coverage) -> Coverage:
    if a.branches is None and b.branches is None and not (a.method or b.method):
        return hits(max(a.hits, b.hits))
    return Coverage(max(a.hits, b.hits), merge_branches(a.branches, b.branches), a.method or b.method)
