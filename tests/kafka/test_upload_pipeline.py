"""The upload pipeline on the real broker: Upload -> UploadProcessor x N -> UploadFinisher, through
the worker's outbox relay, against real PostgreSQL and a local archive directory.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import stream_app.agents.upload
import stream_app.agents.upload_finisher
import stream_app.agents.upload_processor  # noqa: F401  (the three register their handlers)
from stream_app.agents.registry import HANDLERS
from stream_app.client import TaskProducer
from stream_app.coverage import Report, load_report, parse_upload
from stream_app.ops.topics import create_topics
from stream_app.pipeline.context import Handler
from stream_app.settings import Settings
from stream_app.storage import LocalStorage
from stream_app.storage.paths import commit_report_path
from tests.kafka.conftest import WorkerFactory
from tests.support.kafka import wait_until
from tests.support.uploads import (
    FINISHER,
    FOLLOW_UP_TASKS,
    PIPELINE_TASKS,
    commit_row,
    commit_state,
    count_uploads,
    fixture,
    ledger_results,
    seed_repo,
    sha,
    store_raw,
    upload_states,
)

pytestmark = [pytest.mark.kafka, pytest.mark.db]
FORMATS = [
    "coveragepy/coverage.xml",
    "coveragepy/coverage.json",
    "lcov/calc.lcov.info",
    "gcov/calc.c.gcov",
    "go/coverage.out",
    "istanbul/coverage-final.json",
    "jacoco/jacoco.xml",
    "clover/clover.xml",
    "simplecov/resultset.json",
]


def pipeline_handlers() -> dict[str, Handler]:
    return {task: HANDLERS[task] for task in PIPELINE_TASKS}


@pytest.fixture
async def pipeline(settings: Settings) -> Settings:
    await create_topics(settings, tasks=[*PIPELINE_TASKS, *FOLLOW_UP_TASKS])
    return settings


async def send_uploads(settings: Settings, repoid: int, commitid: str, uploads: list[dict[str, Any]]) -> str:
    async with TaskProducer(settings.kafka_bootstrap, topic_prefix=settings.topic_prefix) as producer:
        return await producer.send("upload", repoid=repoid, commitid=commitid, uploads=uploads)


def parser_totals(bodies: list[bytes]) -> dict[str, Any]:
    report = Report()
    for n, body in enumerate(bodies):
        report.merge_partial(parse_upload(body, session_id=n))
    return dict(report.totals().to_dict())


def commit_totals(totals: dict[str, Any] | None) -> dict[str, Any]:
    assert totals is not None
    return {k: v for k, v in totals.items() if k != "file_totals"}


async def wait_for_state(sessions: async_sessionmaker[AsyncSession], repoid: int, commitid: str, state: str) -> None:
    async def reached() -> bool:
        return await commit_state(sessions, repoid, commitid) == state

    await wait_until(reached, timeout=60, what=f"commit {commitid[-6:]} {state}")


async def test_every_format_end_to_end(
    pipeline: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    run_worker: WorkerFactory,
) -> None:
    # Given one commit per format, each with one upload of that format
    seeded = await seed_repo(session_factory)
    async with run_worker(pipeline_handlers()):
        for n, name in enumerate(FORMATS):
            path = await store_raw(storage, seeded.repoid, f"f{n}", fixture(name))
            await send_uploads(pipeline, seeded.repoid, sha(n + 1), [{"upload_id": "u", "storage_path": path}])

        # Then every commit completes with the parser's own totals for its report
        for n, name in enumerate(FORMATS):
            await wait_for_state(session_factory, seeded.repoid, sha(n + 1), "complete")
            commit = await commit_row(session_factory, seeded.repoid, sha(n + 1))
            assert commit_totals(commit.totals) == parser_totals([fixture(name)]), name


async def test_bundles_with_several_reports(
    pipeline: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    run_worker: WorkerFactory,
) -> None:
    # Given the real Node uploader's bundle, and a bundle of three formats with `# path=` headers
    node = fixture("bundle/codecov-node-3.8.3.txt")
    parts = [(name, fixture(name)) for name in ("gcov/calc.c.gcov", "go/coverage.out", "jacoco/jacoco.xml")]
    mixed = b"".join(b"# path=" + name.encode() + b"\n" + body + b"\n<<<<<< EOF\n" for name, body in parts)
    seeded = await seed_repo(session_factory)
    items: list[dict[str, Any]] = [
        {"upload_id": "node", "storage_path": await store_raw(storage, seeded.repoid, "node", node), "flags": ["a"]},
        {"upload_id": "mixed", "storage_path": await store_raw(storage, seeded.repoid, "mixed", mixed)},
    ]

    # When they are uploaded together
    async with run_worker(pipeline_handlers()):
        await send_uploads(pipeline, seeded.repoid, sha(1), items)
        await wait_for_state(session_factory, seeded.repoid, sha(1), "complete")

    # Then both are merged, with the parser's totals and files from all four reports
    commit = await commit_row(session_factory, seeded.repoid, sha(1))
    assert commit_totals(commit.totals) == parser_totals([node, mixed])
    report = load_report(await storage.read(commit_report_path(seeded.repoid, sha(1))))
    assert {"shapes/geometry.py", "pricing.js", "calc.c"} <= set(report.files)
    assert report.sessions[0].flags == ("a",)


@pytest.mark.parametrize("shape", ["twenty_records", "one_record"])
async def test_twenty_uploads_to_one_commit_are_all_merged_exactly_once(
    pipeline: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    run_worker: WorkerFactory,
    shape: str,
) -> None:
    # Given 20 uploads of one commit
    seeded = await seed_repo(session_factory)
    bodies = [fixture(FORMATS[n % len(FORMATS)]) for n in range(20)]
    items = [
        {"upload_id": f"u{n}", "storage_path": await store_raw(storage, seeded.repoid, f"u{n}", body)}
        for n, body in enumerate(bodies)
    ]

    # When they arrive within a second: as 20 Upload records, or as one Upload of 20
    async with run_worker(pipeline_handlers()):
        batches = [[i] for i in items] if shape == "twenty_records" else [items]
        for batch in batches:
            await send_uploads(pipeline, seeded.repoid, sha(1), batch)

        async def all_merged() -> bool:
            return await count_uploads(session_factory, seeded.repoid, sha(1), "merged") == 20

        await wait_until(all_merged, timeout=60, what="20 uploads merged")
        await wait_for_state(session_factory, seeded.repoid, sha(1), "complete")

    # Then each was merged once: the finishers merged 20 in all and the report has 20 sessions
    assert sum(r["merged"] for r in await ledger_results(session_factory, FINISHER)) == 20
    commit = await commit_row(session_factory, seeded.repoid, sha(1))
    assert commit.totals is not None
    assert commit.totals["sessions"] == 20
    assert commit_totals(commit.totals) == parser_totals(bodies)
    report = load_report(await storage.read(commit_report_path(seeded.repoid, sha(1))))
    assert sorted(report.sessions) == list(range(20))


async def test_bad_and_missing_uploads_end_alone_and_the_good_ones_merge(
    pipeline: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    run_worker: WorkerFactory,
) -> None:
    seeded = await seed_repo(session_factory)
    good = [fixture("coveragepy/coverage.xml"), fixture("lcov/pricing.lcov.info")]
    raws = {"good1": good[0], "corrupt": b"<coverage><packages><pack", "good2": good[1]}
    items = [{"upload_id": k, "storage_path": await store_raw(storage, seeded.repoid, k, v)} for k, v in raws.items()]
    items.append({"upload_id": "missing", "storage_path": "v4/raw/never-stored.txt"})

    async with run_worker(pipeline_handlers()):
        await send_uploads(pipeline, seeded.repoid, sha(1), items)
        await wait_for_state(session_factory, seeded.repoid, sha(1), "complete")

    states = await upload_states(session_factory, seeded.repoid, sha(1))
    assert states == {"good1": "merged", "corrupt": "error", "good2": "merged", "missing": "error"}
    commit = await commit_row(session_factory, seeded.repoid, sha(1))
    assert commit.totals is not None
    assert commit.totals["sessions"] == 2
    assert commit.totals["lines"] == parser_totals(good)["lines"]


async def test_a_commit_whose_only_upload_is_missing_ends_in_error(
    pipeline: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    run_worker: WorkerFactory,
) -> None:
    seeded = await seed_repo(session_factory)

    async with run_worker(pipeline_handlers()):
        await send_uploads(pipeline, seeded.repoid, sha(1), [{"upload_id": "u", "storage_path": "nowhere.txt"}])
        await wait_for_state(session_factory, seeded.repoid, sha(1), "error")

    assert await upload_states(session_factory, seeded.repoid, sha(1)) == {"u": "error"}
    assert [r["state"] for r in await ledger_results(session_factory, FINISHER)] == ["error"]
