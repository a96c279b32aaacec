"""UploadFinisher: merge the commit's processed uploads into its report, then notify.

Concurrent finishers of one commit serialize on the commit's row lock (SELECT ... FOR UPDATE),
and each merges only uploads still `processed`, marking them `merged` in the same transaction:
no upload is lost or merged twice, and a duplicate finisher finds nothing to do. Merging a
session already in the report replaces it, so a report written by a finisher whose transaction
then rolled back is merged into again without double counting.

Where the merge starts: the commit's current report. A non-NULL `commits.report` (neither SQL
NULL nor JSON null) is a report the web app or the old worker wrote and MigrateToArchive has not
moved yet; archive.py's rule makes it the authoritative one, so the finisher starts from it even
when storage also holds a report there (that file is then a leftover: MigrateToArchive would
overwrite it with the column, and so does this merge). It is read as archive.column_report gives
it, the bytes MigrateToArchive would archive, so the finisher merges into exactly what a
migration would have left. Otherwise the report in storage, else an empty one. A report that
cannot be read stops the finisher (dead letter) instead of being overwritten.

Where the results go:
* the full line-by-line report: archive storage at `commit_report_path(repoid, commitid)`;
* `commits.totals`: the commit totals with the well-known keys (files, lines, hits, misses,
  partials, coverage, branches, methods, sessions) plus `"file_totals": {path: totals}`, the
  same keys per file. `commits.report` is left SQL NULL (set NULL here): MigrateToArchive
  treats a non-NULL `commits.report` as a report still to archive, which would overwrite the
  archived report with it.
* `repos.cache["commit"]` = {commitid, totals (without file_totals), timestamp} when the commit
  is on the repo's default branch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.coverage import Report, dump_report, load_partial, load_report
from stream_app.errors import PermanentError
from stream_app.models import Commit, Owner, Repo, Upload
from stream_app.services.archive import column_report
from stream_app.services.upload_paths import partial_path
from stream_app.services.upload_processing import FILE_NOT_IN_STORAGE, commit_config
from stream_app.services.uploads import Schedule
from stream_app.storage import ArchiveStorage, FileNotInStorage
from stream_app.storage.paths import commit_report_path

CI_SKIP_MARKERS = ("[ci skip]", "[skip ci]")


async def finish_upload(
    session: AsyncSession, storage: ArchiveStorage, *, repoid: int, commitid: str, schedule: Schedule
) -> dict[str, Any]:
    """Returns {"merged": int, "state": str} (+ "scheduled": the follow-up tasks)."""
    statement = select(Commit).where(Commit.repoid == repoid, Commit.commitid == commitid)
    commit = await session.scalar(statement.with_for_update().execution_options(populate_existing=True))
    if commit is None:
        return {"merged": 0, "state": "not_found"}
    uploads = await _processed_uploads(session, commit.id)
    if not uploads:
        await _nothing_usable(session, commit)
        return {"merged": 0, "state": commit.state}
    report, merged = await _merge_uploads(session, storage, commit, uploads)
    commit.totals = _totals(report)
    commit.report = null()
    commit.state = _state(commit, report)
    repo = await session.get(Repo, repoid)
    assert repo is not None  # a foreign key
    _update_cache(repo, commit)
    scheduled = await _follow_ups(session, storage, repo, commit, sessions=len(report.sessions), schedule=schedule)
    return {"merged": merged, "state": commit.state, "scheduled": scheduled}


async def _merge_uploads(
    session: AsyncSession, storage: ArchiveStorage, commit: Commit, uploads: Sequence[Upload]
) -> tuple[Report, int]:
    """Merge the uploads' partials into the stored report, write it, and mark them merged (or lost)."""
    repoid, commitid = commit.repoid, commit.commitid
    report = await _current_report(storage, commit)
    blobs = await asyncio.gather(*(_read_partial(storage, repoid, commitid, u) for u in uploads))
    found = [blob for blob in blobs if blob is not None]
    report_json = await asyncio.to_thread(_merge, report, found)
    await storage.write(commit_report_path(repoid, commitid), report_json)
    await _mark(session, [u.id for u, blob in zip(uploads, blobs, strict=True) if blob is not None], state="merged")
    await _mark(session, [u.id for u, blob in zip(uploads, blobs, strict=True) if blob is None], state="error")
    return report, len(found)


async def _processed_uploads(session: AsyncSession, commit_id: int) -> Sequence[Upload]:
    statement = (
        select(Upload)
        .where(Upload.commit_id == commit_id, Upload.state == "processed")
        .order_by(Upload.order_number.nulls_last(), Upload.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def _nothing_usable(session: AsyncSession, commit: Commit) -> None:
    """No upload to merge: a commit whose uploads all ended in error gets state `error`."""
    states = set(await session.scalars(select(Upload.state).where(Upload.commit_id == commit.id).distinct()))
    if commit.state == "pending" and states == {"error"}:
        commit.state = "error"


async def _current_report(storage: ArchiveStorage, commit: Commit) -> Report:
    """The report to merge into: `commits.report` when it holds one (not migrated yet, authoritative),
    else the archived one, else an empty report."""
    blob, where = column_report(commit.report), "commits.report"
    if blob is None:
        where = "archived report"
        try:
            blob = await storage.read(commit_report_path(commit.repoid, commit.commitid))
        except FileNotInStorage:
            return Report()
    try:
        return await asyncio.to_thread(load_report, blob)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Merging over it would destroy it: stop here, visibly (dead letter), instead.
        detail = f"the {where} of {commit.commitid} is not readable: {exc}"
        raise PermanentError("report_unreadable", detail) from exc


async def _read_partial(storage: ArchiveStorage, repoid: int, commitid: str, upload: Upload) -> bytes | None:
    try:
        return await storage.read(partial_path(repoid, commitid, upload.id))
    except FileNotInStorage:
        return None  # lost since it was processed: that upload ends in error, the others merge


def _merge(report: Report, partials: list[bytes]) -> bytes:
    """CPU-bound, run in a thread: merge the partials in order and encode the report."""
    report.merge_partials([load_partial(blob) for blob in partials])
    return dump_report(report)


async def _mark(session: AsyncSession, upload_ids: list[int], *, state: str) -> None:
    if not upload_ids:
        return
    values: dict[str, Any] = {"state": state, "updated_at": func.now()}
    if state == "error":
        values |= {"error_code": FILE_NOT_IN_STORAGE, "error_params": {"detail": "parsed upload missing"}}
    statement = update(Upload).where(Upload.id.in_(upload_ids)).values(values)
    await session.execute(statement.execution_options(synchronize_session=False))


def _totals(report: Report) -> dict[str, Any]:
    files = {path: dict(totals.to_dict()) for path, totals in sorted(report.file_totals())}
    return {**report.totals().to_dict(), "file_totals": files}


def _state(commit: Commit, report: Report) -> str:
    if not report.sessions:
        return "error"
    message = (commit.message or "").lower()
    return "skipped" if any(marker in message for marker in CI_SKIP_MARKERS) else "complete"


def _update_cache(repo: Repo, commit: Commit) -> None:
    if commit.branch is None or commit.branch != repo.branch:
        return
    totals = {k: v for k, v in (commit.totals or {}).items() if k != "file_totals"}
    timestamp = commit.timestamp.isoformat() if commit.timestamp else None
    entry = {"commitid": commit.commitid, "totals": totals, "timestamp": timestamp}
    repo.cache = {**(repo.cache or {}), "commit": entry}  # a new dict: JSONB changes are seen on assignment


async def _follow_ups(
    session: AsyncSession, storage: ArchiveStorage, repo: Repo, commit: Commit, *, sessions: int, schedule: Schedule
) -> list[str]:
    """SetPending and Notify (not for a skipped commit; Notify once after_n_builds sessions are in), pulls.Sync."""
    ids = {"repoid": repo.repoid, "commitid": commit.commitid}
    scheduled: list[str] = []
    if commit.state == "complete":
        pull = commit.pullid is not None
        await schedule("app.tasks.status.SetPending", **ids, branch=commit.branch, on_a_pull_request=pull)
        scheduled.append("status_set_pending")
        if sessions >= await _after_n_builds(session, storage, repo, commit.commitid):
            await schedule("app.tasks.notify.Notify", **ids, current_yaml=None)
            scheduled.append("notify")
    if commit.pullid is not None and commit.state != "error":
        sync = {"repoid": repo.repoid, "pullid": commit.pullid, "should_send_notifications": False}
        await schedule("app.tasks.pulls.Sync", **sync)
        scheduled.append("pulls_sync")
    return scheduled


async def _after_n_builds(session: AsyncSession, storage: ArchiveStorage, repo: Repo, commitid: str) -> int:
    """yaml `codecov.notify.after_n_builds` (0 when unset): sessions needed before notifying."""
    owner = await session.get(Owner, repo.ownerid)
    assert owner is not None  # a foreign key
    return (await commit_config(storage, repo, owner, commitid)).codecov.notify.after_n_builds or 0
