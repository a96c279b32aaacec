"""What one page of a repo listing changes in `repos`: a pure plan, no I/O.

For each listed repo (its owner's ownerid already known), in listing order:

- a row with its service_id (under this owner, else under any owner of the service) is the
  repo: updated when a column differs, which moves a repo transferred to another owner and
  renames a renamed one;
- otherwise a row with its (ownerid, name) is the same name deleted and re-created on the
  provider: the row is re-linked to the new service_id, keeping its repoid and history;
- otherwise the repo is inserted.

When the repo's row is found by service_id but another row holds its (ownerid, name), that
other row is stale (its repo was deleted or renamed since): it is renamed out of the way
(`<name>-deleted-<repoid>`) and marked deleted; if its repo still exists under a new name it
gets that name back, and `deleted` cleared, when the listing reaches it.

Updates run in plan order, so swaps of names never collide mid-way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from stream_app.providers.types import RepoInfo

INSERTED = -1  # by_name marker: the name is taken by an insert of this page
LISTED = ("ownerid", "service_id", "name", "private", "language", "branch", "deleted")


@dataclass(frozen=True)
class RepoRow:
    """The columns of a `repos` row that a sync compares or writes."""

    repoid: int
    ownerid: int
    service_id: str
    name: str
    private: bool
    language: str | None
    branch: str | None
    deleted: bool
    using_integration: bool

    def values(self, columns: tuple[str, ...]) -> dict[str, Any]:
        return {column: getattr(self, column) for column in columns}


@dataclass
class PagePlan:
    columns: tuple[str, ...]
    updates: list[dict[str, Any]] = field(default_factory=list)  # {"repoid", *columns}, in order
    inserts: list[dict[str, Any]] = field(default_factory=list)  # {*columns}
    repoids: dict[str, int] = field(default_factory=dict)  # service_id -> repoid (rows kept)


def listed_columns(using_integration: bool) -> tuple[str, ...]:
    """The columns a listing sets; `using_integration` only in installation mode."""
    return (*LISTED, "using_integration") if using_integration else LISTED


def target(ownerid: int, info: RepoInfo, using_integration: bool) -> dict[str, Any]:
    values = {
        "ownerid": ownerid,
        "service_id": info.service_id,
        "name": info.name,
        "private": info.private,
        "language": info.language,
        "branch": info.default_branch,
        "deleted": False,
    }
    return values | {"using_integration": True} if using_integration else values


class _Index:
    """The page's rows by repoid, by service_id and by (ownerid, name), kept current as the plan changes them."""

    def __init__(self, rows: list[RepoRow]) -> None:
        self.rows: dict[int, RepoRow] = {}
        self.by_sid: dict[str, set[int]] = {}
        self.by_name: dict[tuple[int, str], int] = {}
        for row in rows:
            self._add(row)

    def _add(self, row: RepoRow) -> None:
        self.rows[row.repoid] = row
        self.by_sid.setdefault(row.service_id, set()).add(row.repoid)
        self.by_name[(row.ownerid, row.name)] = row.repoid

    def by_service_id(self, service_id: str, ownerid: int) -> RepoRow | None:
        """The row with this service_id: the owner's own, else the oldest under another owner."""
        matches = sorted((self.rows[repoid] for repoid in self.by_sid.get(service_id, ())), key=lambda r: r.repoid)
        return next((r for r in matches if r.ownerid == ownerid), matches[0] if matches else None)

    def change(self, row: RepoRow, **values: Any) -> RepoRow:
        old = self.rows[row.repoid]
        self.by_sid[old.service_id].discard(old.repoid)
        if self.by_name.get((old.ownerid, old.name)) == old.repoid:
            del self.by_name[(old.ownerid, old.name)]
        new = replace(old, **values)
        self._add(new)
        return new


def plan_page(existing: list[RepoRow], listed: list[tuple[int, RepoInfo]], *, using_integration: bool) -> PagePlan:
    """The writes that make `repos` match `listed` (pairs of ownerid and repo), given the rows found."""
    index = _Index(existing)
    plan = PagePlan(listed_columns(using_integration))
    for ownerid, info in listed:
        wanted = target(ownerid, info, using_integration)
        row = index.by_service_id(info.service_id, ownerid)
        holder = index.by_name.get((ownerid, info.name))
        if holder == INSERTED:
            continue  # two listed repos with one name (the listing moved under us): the next sync settles it
        if row is None and holder is not None:
            row = index.rows[holder]  # deleted and re-created under the same name: re-link
        elif row is not None and holder is not None and holder != row.repoid:
            _move_aside(index, plan, index.rows[holder])
        if row is None:
            plan.inserts.append(wanted)
            index.by_name[(ownerid, info.name)] = INSERTED
            continue
        if row.values(plan.columns) != wanted:
            row = index.change(row, **wanted)
            plan.updates.append({"repoid": row.repoid, **wanted})
        plan.repoids[info.service_id] = row.repoid
    return plan


def _move_aside(index: _Index, plan: PagePlan, stale: RepoRow) -> None:
    moved = index.change(stale, name=f"{stale.name}-deleted-{stale.repoid}", deleted=True)
    plan.updates.append({"repoid": moved.repoid, **moved.values(plan.columns)})
