"""UploadProcessor: parse one raw upload into a partial report, then take the chord step.

Parsing (slow, in a thread) happens before any lock. Then, under the commit's row lock, the
upload is settled (`processed` with its totals, or `error` with its code: an error ends this
upload, never the commit; a raw file that is missing or whose storage path storage refuses is
`file_not_in_storage`) and the commit's uploads still `uploaded`/`processing` are counted.
Processors of one commit serialize on that lock and READ COMMITTED re-reads after it, so the
last one to settle sees zero and schedules the one UploadFinisher. A redelivered or duplicate
processor finds its upload settled and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.config import CoverageConfig, resolve_config
from stream_app.coverage import CORRUPT_REPORT, ReportError, Session, dump_partial, parse_upload, read_bundle
from stream_app.models import Commit, Owner, Repo, Upload
from stream_app.services.upload_paths import (
    commit_yaml_path,
    partial_path,
    raw_upload_path,
    read_json,
    repo_files_path,
    write_json,
)
from stream_app.services.uploads import ProviderAccess, RepoProvider, Schedule
from stream_app.storage import ArchiveStorage, FileNotInStorage, InvalidStoragePath

log = logging.getLogger(__name__)
UPLOAD_FINISHER = "app.tasks.upload_finisher.UploadFinisherTask"
PENDING = ("uploaded", "processing")
FILE_NOT_IN_STORAGE = "file_not_in_storage"


@dataclass(frozen=True)
class Outcome:
    state: str  # processed | error
    totals: dict[str, Any] | None = None
    error_code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Target:
    repo: Repo
    owner: Owner
    commit: Commit
    upload: Upload


async def process_upload(
    session: AsyncSession,
    storage: ArchiveStorage,
    *,
    repoid: int,
    commitid: str,
    upload_id: str,
    schedule: Schedule,
    access: ProviderAccess,
) -> dict[str, Any]:
    """Returns {"upload_id", "state", "files", "lines"} (+ "error_code", "finisher_scheduled")."""
    target = await _load(session, repoid, commitid, upload_id)
    if target is None:
        return {"upload_id": upload_id, "state": "not_found", "files": 0, "lines": 0}
    if target.upload.state not in PENDING:
        return _result(upload_id, target.upload.state, target.upload.totals, target.upload.error_code)
    outcome = await _parse(session, storage, target, access)
    settled = await _settle(session, target, outcome)
    scheduled = settled and await _schedule_finisher_if_last(session, target.commit, schedule)
    result = _result(upload_id, outcome.state, outcome.totals, outcome.error_code)
    return {**result, "finisher_scheduled": scheduled}


def _result(upload_id: str, state: str, totals: Any, error_code: str | None) -> dict[str, Any]:
    totals = totals if isinstance(totals, dict) else {}
    result = {"upload_id": upload_id, "state": state, "files": totals.get("files", 0), "lines": totals.get("lines", 0)}
    return result if error_code is None else {**result, "error_code": error_code}


async def _load(session: AsyncSession, repoid: int, commitid: str, upload_id: str) -> Target | None:
    statement = (
        select(Repo, Owner, Commit, Upload)
        .join(Owner, Owner.ownerid == Repo.ownerid)
        .join(Commit, Commit.repoid == Repo.repoid)
        .join(Upload, Upload.commit_id == Commit.id)
        .where(Repo.repoid == repoid, Commit.commitid == commitid, Upload.external_id == upload_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else Target(*row)


async def commit_config(storage: ArchiveStorage, repo: Repo, owner: Owner, commitid: str) -> CoverageConfig:
    """The commit's coverage config: defaults < owner < repo < the commit's own yaml (kept by Upload)."""
    commit_yaml = await read_json(storage, commit_yaml_path(repo.repoid, commitid))
    return resolve_config(owner_yaml=owner.yaml, repo_yaml=repo.yaml, commit_yaml=commit_yaml).config


async def _parse(session: AsyncSession, storage: ArchiveStorage, target: Target, access: ProviderAccess) -> Outcome:
    upload, commit = target.upload, target.commit
    try:
        raw = await storage.read(raw_upload_path(upload.storage_path))
    except FileNotInStorage:
        return Outcome("error", error_code=FILE_NOT_IN_STORAGE, detail=upload.storage_path)
    except InvalidStoragePath as exc:
        # Absolute, `..`, empty segments: it can never be read. Like a missing file it ends this
        # upload and the chord goes on; retrying would leave the commit unfinished.
        return Outcome("error", error_code=FILE_NOT_IN_STORAGE, detail=f"invalid storage path: {exc}"[:500])
    config = await commit_config(storage, target.repo, target.owner, commit.commitid)
    repo_files = await _repo_files(session, storage, target, access, raw)
    try:
        partial_json, totals = await asyncio.to_thread(_parse_raw, raw, _session_of(upload), config, repo_files)
    except ReportError as exc:
        return Outcome("error", error_code=exc.code, detail=exc.detail[:500])
    except Exception as exc:  # a parser crash on this input: retrying cannot help, and the chord must end
        log.exception("parsing upload %s of commit %s failed", upload.id, commit.commitid)
        return Outcome("error", error_code=CORRUPT_REPORT, detail=f"parser failed: {type(exc).__name__}: {exc}"[:500])
    await storage.write(partial_path(target.repo.repoid, commit.commitid, upload.id), partial_json)
    return Outcome("processed", totals=totals)


def _session_of(upload: Upload) -> Session:
    """The upload's session in the commit's report: numbered by its order_number (its row id if it has none)."""
    session_id = upload.order_number if upload.order_number is not None else upload.id
    flags = tuple(upload.flags or ())
    return Session(
        session_id, flags, upload.name, upload.provider, upload.build_code, upload.build_url, upload.job_code
    )


def _parse_raw(
    raw: bytes, session: Session, config: CoverageConfig, repo_files: list[str] | None
) -> tuple[bytes, dict[str, Any]]:
    """CPU-bound, run in a thread: raw upload -> (partial report JSON, upload totals)."""
    partial = parse_upload(
        raw, session_id=session.id, flags=session.flags, fixes=config.fixes, ignore=config.ignore, repo_files=repo_files
    )
    partial.session = replace(session, extra=partial.session.extra)  # the bundle's env block stays
    return dump_partial(partial), dict(partial.totals().to_dict())


def _has_file_list(raw: bytes) -> bool:
    try:
        return read_bundle(raw).file_list is not None
    except ReportError:
        return True  # unreadable: the parse reports it, no need to ask the provider first


async def _repo_files(
    session: AsyncSession, storage: ArchiveStorage, target: Target, access: ProviderAccess, raw: bytes
) -> list[str] | None:
    """The repo's files at the commit, for path fixing: only when the bundle has no list of its own.

    Asked of the provider once per commit (best effort) and kept in storage for the commit's other uploads.
    """
    if await asyncio.to_thread(_has_file_list, raw):
        return None
    repo, commitid = target.repo, target.commit.commitid
    path = repo_files_path(repo.repoid, commitid)
    cached = await read_json(storage, path)
    if isinstance(cached, list):
        return [str(name) for name in cached]
    gh = await RepoProvider.open(session, repo, target.owner, access)
    files = await gh.call("files", lambda p: p.list_files(gh.ref, ref=commitid))
    if files is not None:
        await write_json(storage, path, files)
    return files


async def _settle(session: AsyncSession, target: Target, outcome: Outcome) -> bool:
    """Lock the commit, then record the outcome unless another delivery already did; True if recorded."""
    await session.execute(select(Commit.id).where(Commit.id == target.commit.id).with_for_update())
    values: dict[str, Any] = {"state": outcome.state, "updated_at": func.now()}
    if outcome.state == "error":
        values |= {"error_code": outcome.error_code, "error_params": {"detail": outcome.detail}, "totals": null()}
    else:
        values |= {"totals": outcome.totals, "error_code": None, "error_params": null()}
    statement = (
        update(Upload)
        .where(Upload.id == target.upload.id, Upload.state.in_(PENDING))
        .values(values)
        .returning(Upload.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def _schedule_finisher_if_last(session: AsyncSession, commit: Commit, schedule: Schedule) -> bool:
    """The chord: under the commit lock, the upload that leaves none pending schedules the finisher."""
    pending = await session.scalar(
        select(func.count()).select_from(Upload).where(Upload.commit_id == commit.id, Upload.state.in_(PENDING))
    )
    if pending:
        return False
    await schedule(UPLOAD_FINISHER, repoid=commit.repoid, commitid=commit.commitid)
    return True
