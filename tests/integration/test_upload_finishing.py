"""UploadFinisher's service against real PostgreSQL: merge, totals, state, cache and follow-ups."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from stream_app.coverage import Report, load_report, parse_upload
from stream_app.errors import PermanentError
from stream_app.models import Commit, OutboxRecord, Repo, Upload
from stream_app.services.upload_finishing import finish_upload
from stream_app.services.upload_paths import partial_path
from stream_app.storage import ArchiveStorage, LocalStorage
from stream_app.storage.paths import commit_report_path
from tests.factories import create_commit
from tests.support.uploads import (
    FINISHER,
    PROCESSOR,
    Seeded,
    Sessions,
    commit_row,
    count_uploads,
    drain,
    expected_totals,
    fixture,
    item,
    offline,
    outbox_rows,
    run_finisher,
    run_processor,
    run_upload,
    seed_repo,
    sha,
    store_raw,
    upload_states,
)

pytestmark = pytest.mark.db
FOLLOW_UPS = ("app.tasks.status.SetPending", "app.tasks.notify.Notify", "app.tasks.pulls.Sync")


async def _processed(
    sessions: Sessions, storage: ArchiveStorage, seeded: Seeded, commitid: str, fixtures: list[str], **commit: Any
) -> list[dict[str, Any]]:
    """A commit (created with `commit` fields when given) whose uploads, one per fixture, ran the pipeline."""
    if commit:
        async with sessions.begin() as s:
            await create_commit(s, repoid=seeded.repoid, commitid=commitid, state="pending", **commit)
    items = []
    for n, name in enumerate(fixtures):
        path = await store_raw(storage, seeded.repoid, f"{commitid[-4:]}-{n}", fixture(name)) if name else "gone"
        items.append(item(f"u{n}", path))
    await run_upload(sessions, storage, offline(), repoid=seeded.repoid, commitid=commitid, uploads=items)
    return await drain(sessions, storage, offline())


async def _follow_ups(sessions: Sessions) -> list[tuple[str, dict[str, Any]]]:
    return [(f.task, f.args) for f in await outbox_rows(sessions) if f.task in FOLLOW_UPS]


def _parser_totals(fixtures: list[str]) -> dict[str, Any]:
    report = Report()
    for n, name in enumerate(fixtures):
        report.merge_partial(parse_upload(fixture(name), session_id=n))
    return dict(report.totals().to_dict())


@pytest.mark.parametrize(
    "pair",
    [
        ["coveragepy/coverage.json", "coveragepy/coverage_other.json"],
        ["coveragepy/coverage.xml", "coveragepy/coverage_other.xml"],
    ],
)
async def test_finisher_merges_two_runs_like_coverage_combine(
    session_factory: Sessions, storage: LocalStorage, pair: list[str]
) -> None:
    # Given two coverage.py runs of one program, uploaded separately
    seeded = await seed_repo(session_factory)
    expected = expected_totals("coveragepy/coverage_combined.json")

    # When the pipeline processes and finishes them
    results = await _processed(session_factory, storage, seeded, sha(1), pair)

    # Then the finisher merged both, and the totals are coverage.py's own combine and the parser's merge
    assert results[-1] == {"merged": 2, "state": "complete", "scheduled": ["status_set_pending", "notify"]}
    commit = await commit_row(session_factory, seeded.repoid, sha(1))
    totals = commit.totals
    assert totals is not None
    assert totals["lines"] == expected["num_statements"]
    assert totals["hits"] + totals["partials"] == expected["covered_lines"]
    assert (totals["misses"], totals["partials"], totals["sessions"]) == (expected["missing_lines"], 1, 2)
    assert {k: v for k, v in totals.items() if k != "file_totals"} == _parser_totals(pair)
    assert totals["file_totals"]["shapes/geometry.py"]["lines"] == expected["num_statements"]
    assert commit.report is None
    report = load_report(await storage.read(commit_report_path(seeded.repoid, sha(1))))
    assert sorted(report.sessions) == [0, 1] and report.totals().to_dict() == _parser_totals(pair)
    assert await count_uploads(session_factory, seeded.repoid, sha(1), "merged") == 2


async def test_finisher_twice_is_a_no_op(session_factory: Sessions, storage: LocalStorage) -> None:
    seeded = await seed_repo(session_factory)
    await _processed(session_factory, storage, seeded, sha(2), ["coveragepy/coverage.json"])
    before = await commit_row(session_factory, seeded.repoid, sha(2))
    follow_ups = await _follow_ups(session_factory)

    again = await run_finisher(session_factory, storage, repoid=seeded.repoid, commitid=sha(2))

    assert again == {"merged": 0, "state": "complete"}
    after = await commit_row(session_factory, seeded.repoid, sha(2))
    assert (after.totals, after.state) == (before.totals, before.state)
    assert await _follow_ups(session_factory) == follow_ups


async def test_a_later_batch_merges_into_the_existing_report(session_factory: Sessions, storage: LocalStorage) -> None:
    seeded = await seed_repo(session_factory)
    await _processed(session_factory, storage, seeded, sha(3), ["coveragepy/coverage.json"])

    # a second Upload for the same commit, with one more upload
    path = await store_raw(storage, seeded.repoid, "later", fixture("coveragepy/coverage_other.json"))
    await run_upload(
        session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(3), uploads=[item("later", path)]
    )
    results = await drain(session_factory, storage, offline())

    assert results[-1]["merged"] == 1
    totals = (await commit_row(session_factory, seeded.repoid, sha(3))).totals
    assert totals is not None
    assert totals["sessions"] == 2
    assert totals["hits"] + totals["partials"] == expected_totals("coveragepy/coverage_combined.json")["covered_lines"]


async def test_a_commit_whose_uploads_all_failed_is_in_error_without_follow_ups(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    seeded = await seed_repo(session_factory)

    results = await _processed(session_factory, storage, seeded, sha(4), ["", ""])

    assert results[-1] == {"merged": 0, "state": "error"}
    assert (await commit_row(session_factory, seeded.repoid, sha(4))).state == "error"
    assert await _follow_ups(session_factory) == []


@pytest.mark.parametrize("message", ["docs [ci skip]", "Typo [SKIP CI]"])
async def test_ci_skip_marks_the_commit_skipped_and_does_not_notify(
    session_factory: Sessions, storage: LocalStorage, message: str
) -> None:
    seeded = await seed_repo(session_factory)

    results = await _processed(
        session_factory, storage, seeded, sha(5), ["coveragepy/coverage.json"], message=message, pullid=9
    )

    assert results[-1]["state"] == "skipped"
    assert (await commit_row(session_factory, seeded.repoid, sha(5))).state == "skipped"
    sync = {"repoid": seeded.repoid, "pullid": 9, "should_send_notifications": False}
    assert await _follow_ups(session_factory) == [("app.tasks.pulls.Sync", sync)]


async def test_notify_waits_for_after_n_builds(session_factory: Sessions, storage: LocalStorage) -> None:
    # Given a repo that wants 3 builds before notifying
    seeded = await seed_repo(session_factory, yaml={"codecov": {"notify": {"after_n_builds": 3}}})

    # When 2 uploads are finished, then a third
    first = await _processed(session_factory, storage, seeded, sha(6), ["lcov/calc.lcov.info", "go/coverage.out"])
    notified_early = [task for task, _ in await _follow_ups(session_factory) if task.endswith("Notify")]
    path = await store_raw(storage, seeded.repoid, "third", fixture("jacoco/jacoco.xml"))
    await run_upload(
        session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(6), uploads=[item("u9", path)]
    )
    second = await drain(session_factory, storage, offline())

    # Then only the third build notifies
    assert first[-1]["scheduled"] == ["status_set_pending"] and notified_early == []
    assert second[-1]["scheduled"] == ["status_set_pending", "notify"]


async def test_a_pull_commit_schedules_its_sync(session_factory: Sessions, storage: LocalStorage) -> None:
    seeded = await seed_repo(session_factory)

    await _processed(session_factory, storage, seeded, sha(7), ["lcov/calc.lcov.info"], pullid=4, branch="feat")

    ids = {"repoid": seeded.repoid, "commitid": sha(7)}
    assert await _follow_ups(session_factory) == [
        ("app.tasks.status.SetPending", {**ids, "branch": "feat", "on_a_pull_request": True}),
        ("app.tasks.notify.Notify", {**ids, "current_yaml": None}),
        ("app.tasks.pulls.Sync", {"repoid": seeded.repoid, "pullid": 4, "should_send_notifications": False}),
    ]


@pytest.mark.parametrize(("branch", "cached"), [("main", True), ("feature", False)])
async def test_the_default_branch_cache_follows_its_newest_report(
    session_factory: Sessions, storage: LocalStorage, branch: str, cached: bool
) -> None:
    seeded = await seed_repo(session_factory, branch="main", cache={"other": 1})

    await _processed(session_factory, storage, seeded, sha(8), ["gcov/calc.c.gcov"], branch=branch)

    async with session_factory() as s:
        repo = await s.get_one(Repo, seeded.repoid)
    totals = (await commit_row(session_factory, seeded.repoid, sha(8))).totals
    assert totals is not None
    commit_totals = {k: v for k, v in totals.items() if k != "file_totals"}
    if cached:
        assert repo.cache == {"other": 1, "commit": {"commitid": sha(8), "totals": commit_totals, "timestamp": None}}
    else:
        assert repo.cache == {"other": 1}


async def test_a_rolled_back_finisher_leaves_nothing_doubled(session_factory: Sessions, storage: LocalStorage) -> None:
    # Given processed uploads, and a finisher whose report was written but whose transaction rolled back
    seeded = await seed_repo(session_factory)
    fixtures = ["coveragepy/coverage.json", "coveragepy/coverage_other.json"]
    path = [await store_raw(storage, seeded.repoid, f"r{n}", fixture(f)) for n, f in enumerate(fixtures)]
    items = [item(f"u{n}", p) for n, p in enumerate(path)]
    await run_upload(session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(9), uploads=items)
    for _ in range(2):
        await _run_only_processor(session_factory, storage)
    with pytest.raises(RuntimeError):
        async with session_factory.begin() as s:
            await finish_upload(s, storage, repoid=seeded.repoid, commitid=sha(9), schedule=_no_schedule)
            raise RuntimeError("crash before the commit")
    assert await storage.exists(commit_report_path(seeded.repoid, sha(9)))

    # When the finisher runs again
    await run_finisher(session_factory, storage, repoid=seeded.repoid, commitid=sha(9))

    # Then the totals are those of one merge
    totals = (await commit_row(session_factory, seeded.repoid, sha(9))).totals
    assert totals is not None
    assert {k: v for k, v in totals.items() if k != "file_totals"} == _parser_totals(fixtures)


async def test_a_lost_partial_ends_its_upload_in_error_and_the_rest_merge(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given two processed uploads, one of whose partial reports has since been lost
    seeded = await seed_repo(session_factory)
    paths = [await store_raw(storage, seeded.repoid, f"l{n}", fixture("lcov/calc.lcov.info")) for n in range(2)]
    items = [item("a", paths[0]), item("b", paths[1])]
    await run_upload(session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(10), uploads=items)
    for _ in range(2):
        await _run_only_processor(session_factory, storage)
    async with session_factory() as s:
        lost = await s.scalar(select(Upload.id).where(Upload.external_id == "b"))
    assert lost is not None
    assert await storage.delete(partial_path(seeded.repoid, sha(10), lost))

    # When the finisher runs
    result = await run_finisher(session_factory, storage, repoid=seeded.repoid, commitid=sha(10))

    # Then the other upload is merged and the lost one ends in error
    assert (result["merged"], result["state"]) == (1, "complete")
    assert await upload_states(session_factory, seeded.repoid, sha(10)) == {"a": "merged", "b": "error"}


async def test_an_unreadable_archived_report_is_never_overwritten(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    seeded = await seed_repo(session_factory)
    await storage.write(commit_report_path(seeded.repoid, sha(11)), b'{"files": {"legacy": 1}}')

    with pytest.raises(PermanentError) as raised:
        await _processed(session_factory, storage, seeded, sha(11), ["lcov/calc.lcov.info"])

    assert raised.value.code == "report_unreadable"
    assert await storage.read(commit_report_path(seeded.repoid, sha(11))) == b'{"files": {"legacy": 1}}'


async def test_a_report_still_in_commits_report_is_merged_into(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given a commit whose report the old worker kept in commits.report (not migrated to storage yet)
    seeded = await seed_repo(session_factory)
    fixtures = ["coveragepy/coverage.json", "coveragepy/coverage_other.json"]
    await _processed(session_factory, storage, seeded, sha(13), fixtures[:1])
    await _report_into_the_column(session_factory, storage, seeded, sha(13))

    # When a later upload of the commit is finished
    results = await _later_upload(session_factory, storage, seeded, sha(13), "later", fixtures[1])

    # Then it is merged into that report, which moves to storage; the column is cleared
    assert (results[-1]["merged"], results[-1]["state"]) == (1, "complete")
    report = load_report(await storage.read(commit_report_path(seeded.repoid, sha(13))))
    assert sorted(report.sessions) == [0, 1] and report.totals().to_dict() == _parser_totals(fixtures)
    commit = await commit_row(session_factory, seeded.repoid, sha(13))
    assert commit.report is None and commit.totals is not None
    assert {k: v for k, v in commit.totals.items() if k != "file_totals"} == _parser_totals(fixtures)


async def test_commits_report_is_authoritative_over_an_archived_one(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given storage holding an older report of the commit, and commits.report a newer one (archive.py's
    # rule: a non-null commits.report is the report, not migrated yet)
    seeded = await seed_repo(session_factory)
    fixtures = ["coveragepy/coverage.json", "coveragepy/coverage_other.json", "lcov/calc.lcov.info"]
    await _processed(session_factory, storage, seeded, sha(14), fixtures[:1])
    older = await storage.read(commit_report_path(seeded.repoid, sha(14)))
    await _later_upload(session_factory, storage, seeded, sha(14), "second", fixtures[1])
    await _report_into_the_column(session_factory, storage, seeded, sha(14))
    await storage.write(commit_report_path(seeded.repoid, sha(14)), older)

    # When a third upload is finished
    await _later_upload(session_factory, storage, seeded, sha(14), "third", fixtures[2])

    # Then it was merged into the column's report: no session of it is lost
    report = load_report(await storage.read(commit_report_path(seeded.repoid, sha(14))))
    assert sorted(report.sessions) == [0, 1, 2] and report.totals().to_dict() == _parser_totals(fixtures)
    commit = await commit_row(session_factory, seeded.repoid, sha(14))
    assert commit.report is None and commit.totals is not None and commit.totals["sessions"] == 3


async def test_an_unreadable_report_in_commits_report_is_never_dropped(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given a commit whose commits.report holds a report this worker cannot read
    seeded = await seed_repo(session_factory)
    unreadable = {"files": {"src/a.py": [0, [0, 10, 8, 2, 0, "80.00000"]]}, "sessions": {"0": {"n": 0}}}
    async with session_factory.begin() as s:
        await create_commit(s, repoid=seeded.repoid, commitid=sha(15), state="pending", report=unreadable)

    # When an upload of it is finished
    with pytest.raises(PermanentError) as raised:
        await _processed(session_factory, storage, seeded, sha(15), ["lcov/calc.lcov.info"])

    # Then the finisher stops visibly, leaving the column as it was and writing no report
    assert raised.value.code == "report_unreadable" and "commits.report" in raised.value.detail
    assert (await commit_row(session_factory, seeded.repoid, sha(15))).report == unreadable
    assert not await storage.exists(commit_report_path(seeded.repoid, sha(15)))


async def test_twenty_uploads_of_many_formats_all_merge_once(session_factory: Sessions, storage: LocalStorage) -> None:
    formats = [
        "coveragepy/coverage.xml",
        "coveragepy/coverage.json",
        "lcov/calc.lcov.info",
        "lcov/pricing.lcov.info",
        "gcov/calc.c.gcov",
        "go/coverage.out",
        "istanbul/coverage-final.json",
        "jacoco/jacoco.xml",
        "clover/clover.xml",
        "simplecov/resultset.json",
    ]
    seeded = await seed_repo(session_factory)

    results = await _processed(session_factory, storage, seeded, sha(12), formats * 2)

    finishers = [r for r in results if "merged" in r]
    assert [r["merged"] for r in finishers] == [20]
    totals = (await commit_row(session_factory, seeded.repoid, sha(12))).totals
    assert totals is not None
    assert totals["sessions"] == 20
    assert {k: v for k, v in totals.items() if k != "file_totals"} == _parser_totals(formats * 2)
    assert await count_uploads(session_factory, seeded.repoid, sha(12), "merged") == 20


async def _no_schedule(task: str, key: str | None = None, **args: Any) -> str:
    return "nothing"


async def _run_only_processor(sessions: Sessions, storage: ArchiveStorage) -> None:
    """Run the oldest processor record and drop any finisher it scheduled (the test runs it itself)."""
    (first, *_) = await outbox_rows(sessions, PROCESSOR)
    async with sessions.begin() as s:
        row = await s.scalar(select(OutboxRecord.id).where(OutboxRecord.topic == PROCESSOR).order_by(OutboxRecord.id))
        await s.execute(delete(OutboxRecord).where(OutboxRecord.id == row))
    await run_processor(sessions, storage, offline(), **first.args)
    async with sessions.begin() as s:
        await s.execute(delete(OutboxRecord).where(OutboxRecord.topic == FINISHER))


async def _report_into_the_column(sessions: Sessions, storage: LocalStorage, seeded: Seeded, commitid: str) -> None:
    """Move the commit's archived report back into commits.report: the state before MigrateToArchive."""
    path = commit_report_path(seeded.repoid, commitid)
    document = json.loads(await storage.read(path))
    async with sessions.begin() as s:
        statement = update(Commit).where(Commit.repoid == seeded.repoid, Commit.commitid == commitid)
        await s.execute(statement.values(report=document))
    assert await storage.delete(path)


async def _later_upload(
    sessions: Sessions, storage: ArchiveStorage, seeded: Seeded, commitid: str, upload_id: str, name: str
) -> list[dict[str, Any]]:
    """One more upload of the commit, run through the pipeline (processor, then finisher)."""
    path = await store_raw(storage, seeded.repoid, f"{commitid[-4:]}-{upload_id}", fixture(name))
    items = [item(upload_id, path, flags=[upload_id])]
    await run_upload(sessions, storage, offline(), repoid=seeded.repoid, commitid=commitid, uploads=items)
    return await drain(sessions, storage, offline())
