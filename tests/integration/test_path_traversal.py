"""Record text never reaches another repo's files: real PostgreSQL and a local archive directory.

Local storage (like S3) only keeps a path inside the storage root, not inside a repo, so a commit
id or a storage path that climbs (`..`) or names another repo's files must be refused or kept
to the repo's own prefix by the paths the worker derives and the files it deletes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.services.owners import delete_owner
from stream_app.services.repos import flush_repo
from stream_app.services.upload_finishing import finish_upload
from stream_app.services.upload_processing import process_upload
from stream_app.services.uploads import create_uploads
from stream_app.storage import LocalStorage
from stream_app.storage.paths import commit_report_path
from tests.factories import SeededRepo, create_commit, create_owner, create_repo, create_upload, seed_repo_coverage
from tests.support.uploads import (
    Seeded,
    Sessions,
    fixture,
    item,
    offline,
    run_finisher,
    run_processor,
    run_upload,
    seed_repo,
    sha,
    store_raw,
    upload_states,
)

pytestmark = pytest.mark.db


async def unchecked_schedule(task: str, key: str | None = None, **args: object) -> str:
    """Follow-ups accepted as given: the services as they would run if a bad commit id got past
    the record's validation (a row written by an older worker, a future record version...)."""
    return "unchecked"


def files_under(storage: LocalStorage) -> dict[str, bytes]:
    return {p.relative_to(storage.root).as_posix(): p.read_bytes() for p in storage.root.rglob("*") if p.is_file()}


async def report_of(sessions: Sessions, storage: LocalStorage, repo: Seeded, commitid: str) -> bytes:
    """Upload, process and finish one coverage.py upload; the commit's merged report."""
    path = await store_raw(storage, repo.repoid, f"{repo.repoid}-{commitid[-4:]}", fixture("coveragepy/coverage.json"))
    await run_upload(sessions, storage, offline(), repoid=repo.repoid, commitid=commitid, uploads=[item("u1", path)])
    await run_processor(sessions, storage, offline(), repoid=repo.repoid, commitid=commitid, upload_id="u1")
    await run_finisher(sessions, storage, repoid=repo.repoid, commitid=commitid)
    return await storage.read(commit_report_path(repo.repoid, commitid))


async def test_the_upload_service_refuses_a_traversal_commitid_before_writing_any_file(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given a victim repo with a report, and an attacker repo
    victim, attacker = await seed_repo(session_factory), await seed_repo(session_factory)
    await report_of(session_factory, storage, victim, sha(9))
    before = files_under(storage)
    raw = await store_raw(storage, attacker.repoid, "a1", fixture("coveragepy/coverage.json"))

    # When the attacker's Upload runs with a commit id that climbs into the victim's reports
    evil = f"../../{victim.repoid}/reports/{sha(9)}"
    with pytest.raises(ValidationError, match="commitid"):  # its processor record fails validation
        await run_upload(
            session_factory, storage, offline(), repoid=attacker.repoid, commitid=evil, uploads=[item("a1", raw)]
        )

    # Then nothing but the attacker's raw upload was written
    assert files_under(storage) == {**before, raw: fixture("coveragepy/coverage.json")}


@pytest.mark.parametrize(
    "evil",
    [
        pytest.param("../../{victim}/reports/{sha}", id="climbs-into-reports"),
        pytest.param("{sha}/../../../../{victim}/reports/{sha}", id="sha-then-climb"),
        pytest.param("..", id="dot-dot"),
    ],
)
async def test_a_traversal_commitid_past_validation_stays_in_its_own_repo(
    session_factory: Sessions, storage: LocalStorage, evil: str
) -> None:
    # Given a victim repo with a merged report
    victim, attacker = await seed_repo(session_factory), await seed_repo(session_factory)
    victim_report = await report_of(session_factory, storage, victim, sha(9))
    before = files_under(storage)
    commitid = evil.format(victim=victim.repoid, sha=sha(9))

    # When the attacker's upload pipeline runs with a climbing commit id that got past validation
    raw = await store_raw(storage, attacker.repoid, "a1", fixture("coveragepy/coverage.json"))
    item_ = item("a1", raw, flags=["evil"])
    async with session_factory.begin() as s:
        await create_uploads(
            s,
            storage,
            repoid=attacker.repoid,
            commitid=commitid,
            uploads=[item_],
            schedule=unchecked_schedule,
            access=offline(),
        )
    async with session_factory.begin() as s:
        processed = await process_upload(
            s,
            storage,
            repoid=attacker.repoid,
            commitid=commitid,
            upload_id="a1",
            schedule=unchecked_schedule,
            access=offline(),
        )
    async with session_factory.begin() as s:
        finished = await finish_upload(
            s, storage, repoid=attacker.repoid, commitid=commitid, schedule=unchecked_schedule
        )

    # Then it worked on its own commit, the victim's report is untouched, and every new file is the attacker's
    assert (processed["state"], finished["merged"]) == ("processed", 1)
    assert await storage.read(commit_report_path(victim.repoid, sha(9))) == victim_report
    after = files_under(storage)
    assert {path: after[path] for path in before} == before
    new = sorted(set(after) - set(before))
    assert new and all(p.startswith((f"repos/{attacker.repoid}/", f"v4/raw/{attacker.repoid}/")) for p in new), new
    assert commit_report_path(attacker.repoid, commitid) in new


# --- FlushRepo and DeleteOwner delete only the repo's own files -------------------------------

Delete = Callable[[AsyncSession, LocalStorage, int, int], Awaitable[dict[str, Any]]]


async def _flush(s: AsyncSession, storage: LocalStorage, ownerid: int, repoid: int) -> dict[str, Any]:
    return await flush_repo(s, storage, repoid=repoid)


async def _delete_owner(s: AsyncSession, storage: LocalStorage, ownerid: int, repoid: int) -> dict[str, Any]:
    return await delete_owner(s, storage, ownerid=ownerid)


def hostile_paths(victim: SeededRepo, repoid: int) -> list[str]:
    """Storage paths an upload row of repo `repoid` might hold that name the victim's files."""
    report = next(p for p in victim.files if p.startswith("repos/"))
    raw = victim.files[0]  # v4/raw/{victim}/0.txt
    return [
        report,  # another repo's report, as a plain relative path
        raw,  # another repo's raw upload
        f"v4/raw/{repoid}/../{victim.repoid}/1.txt",  # under the repo's raw prefix, then climbing out
        f"v4/raw/2026-11-29/{repoid}/../../{victim.repoid}/2.txt",
        f"repos/{repoid}/../{report.removeprefix('repos/')}",  # under the repo's prefix, then climbing out
        f"/{victim.files[3]}",  # absolute
        victim.files[4].replace("/", "\\"),
    ]


@pytest.mark.parametrize(
    "delete", [pytest.param(_flush, id="flush_repo"), pytest.param(_delete_owner, id="delete_owner")]
)
async def test_deleting_a_repos_data_never_deletes_another_repos_files(
    session_factory: Sessions, storage: LocalStorage, delete: Delete
) -> None:
    # Given a victim repo with coverage files, and a repo of another owner whose upload rows
    # name the victim's files, besides one raw upload of its own in each raw layout
    async with session_factory.begin() as s:
        victim = await seed_repo_coverage(s, storage, repoid=await create_repo(s, ownerid=await create_owner(s)))
        ownerid = await create_owner(s)
        repoid = await create_repo(s, ownerid=ownerid)
        commit_id = await create_commit(s, repoid=repoid)
        own = [f"v4/raw/{repoid}/mine.txt", f"v4/raw/2026-11-29/{repoid}/{sha(1)[:8]}/mine.txt"]
        for path in [*hostile_paths(victim, repoid), *own]:
            await create_upload(s, commit_id=commit_id, storage_path=path)
    for path in own:
        await storage.write(path, b"mine")

    # When the repo is flushed, or its owner deleted
    async with session_factory.begin() as s:
        result = await delete(s, storage, ownerid, repoid)

    # Then its own raw uploads are gone, and every file of the victim is still there
    assert result["deleted"]["files"] == 2
    assert [path for path in own if await storage.exists(path)] == []
    assert [path for path in victim.files if not await storage.exists(path)] == []


async def test_a_raw_upload_outside_that_layout_is_deleted_unless_another_repo_names_it(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given two repos whose raw uploads live outside `v4/raw/[{date}/]{repoid}/` (the web app's
    # layout is not part of the contract), one file named by both repos' upload rows
    async with session_factory.begin() as s:
        repoid = await create_repo(s, ownerid=await create_owner(s))
        other = await create_repo(s, ownerid=await create_owner(s))
        mine, commit_id = "uploads/mine.txt", await create_commit(s, repoid=repoid)
        await create_upload(s, commit_id=commit_id, storage_path=mine)
        await create_upload(s, commit_id=commit_id, storage_path="uploads/shared.txt")
        await create_upload(s, commit_id=await create_commit(s, repoid=other), storage_path="uploads/shared.txt")
    for path in (mine, "uploads/shared.txt"):
        await storage.write(path, b"raw")

    # When the first repo is flushed
    async with session_factory.begin() as s:
        result = await flush_repo(s, storage, repoid=repoid)

    # Then its own raw upload is gone, and the one the other repo's upload also names stays
    assert (result["deleted"]["uploads"], result["deleted"]["files"]) == (2, 1)
    assert not await storage.exists(mine)
    assert await storage.exists("uploads/shared.txt")


# --- the processor reads only plain storage keys ----------------------------------------------


@pytest.mark.parametrize("climb", ["v4/raw/{me}/../{other}/secret.txt", "v4/raw/{me}/./../../raw/{other}/secret.txt"])
async def test_a_storage_path_climbing_into_another_repos_raw_uploads_is_not_read(
    session_factory: Sessions, storage: LocalStorage, climb: str
) -> None:
    me, other = await seed_repo(session_factory), await seed_repo(session_factory)
    await store_raw(storage, other.repoid, "secret", fixture("coveragepy/coverage.json"))
    path = climb.format(me=me.repoid, other=other.repoid)
    await run_upload(session_factory, storage, offline(), repoid=me.repoid, commitid=sha(1), uploads=[item("u1", path)])

    result = await run_processor(session_factory, storage, offline(), repoid=me.repoid, commitid=sha(1), upload_id="u1")

    assert (result["state"], result["error_code"]) == ("error", "file_not_in_storage")
    assert await upload_states(session_factory, me.repoid, sha(1)) == {"u1": "error"}
