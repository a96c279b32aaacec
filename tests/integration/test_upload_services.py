"""Upload's service against real PostgreSQL: the commit, the upload rows and one processor each."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Commit, Upload
from stream_app.storage import LocalStorage
from tests.factories import create_commit
from tests.support.uploads import (
    PROCESSOR,
    count_uploads,
    item,
    offline,
    outbox_rows,
    run_upload,
    seed_repo,
    sha,
)

pytestmark = pytest.mark.db


async def test_upload_creates_the_commit_the_rows_and_one_processor_per_upload(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a repo and no commit row yet
    seeded = await seed_repo(session_factory)
    commitid = sha(1)
    uploads = [
        item(
            "u1", "raw/1.txt", flags=["unit"], build="b1", build_url="https://ci/1", job="j1", name="n1", service="gha"
        ),
        item("u2", "raw/2.txt"),
    ]

    # When the Upload runs
    result = await run_upload(
        session_factory, storage, offline(), repoid=seeded.repoid, commitid=commitid, uploads=uploads
    )

    # Then the commit exists, each upload has a row, and each got its own processor record
    assert result == {"uploads_created": 2, "processors_scheduled": 2, "enrichment": ["no_valid_bot"]}
    async with session_factory() as s:
        commit = await s.scalar(select(Commit).where(Commit.repoid == seeded.repoid, Commit.commitid == commitid))
        assert commit is not None and commit.state == "pending"
        rows = (await s.scalars(select(Upload).where(Upload.commit_id == commit.id).order_by(Upload.id))).all()
    first = rows[0]
    assert (first.external_id, first.storage_path, first.state, first.flags) == (
        "u1",
        "raw/1.txt",
        "uploaded",
        ["unit"],
    )
    assert (first.build_code, first.build_url, first.job_code, first.name, first.provider) == (
        "b1",
        "https://ci/1",
        "j1",
        "n1",
        "gha",
    )
    assert [r.order_number for r in rows] == [0, 1]
    scheduled = await outbox_rows(session_factory, PROCESSOR)
    assert [(s.key, s.args) for s in scheduled] == [
        (f"{seeded.repoid}:{commitid}:u{n}", {"repoid": seeded.repoid, "commitid": commitid, "upload_id": f"u{n}"})
        for n in (1, 2)
    ]


async def test_upload_twice_is_a_no_op(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given an Upload that already ran
    seeded = await seed_repo(session_factory)
    uploads = [item("u1", "raw/1.txt"), item("u2", "raw/2.txt")]
    await run_upload(session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(2), uploads=uploads)

    # When the same uploads arrive again (a redelivery under a new record id, a retrying producer)
    again = await run_upload(
        session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(2), uploads=uploads
    )

    # Then nothing new is created or scheduled
    assert again["uploads_created"] == again["processors_scheduled"] == 0
    assert await count_uploads(session_factory, seeded.repoid, sha(2)) == 2
    assert len(await outbox_rows(session_factory, PROCESSOR)) == 2


async def test_upload_adds_new_uploads_after_the_existing_sessions(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a commit that already has two uploads
    seeded = await seed_repo(session_factory)
    first = [item("u1", "raw/1.txt"), item("u2", "raw/2.txt")]
    await run_upload(session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(3), uploads=first)

    # When a later Upload brings one known and two new ones (one of them twice)
    later = [item("u2", "raw/2.txt"), item("u3", "raw/3.txt"), item("u4", "raw/4.txt"), item("u3", "raw/other.txt")]
    result = await run_upload(session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(3), uploads=later)

    # Then only the new ones are added, numbered after the existing sessions, the first of a repeated id wins
    assert result["uploads_created"] == 2
    async with session_factory() as s:
        rows = (await s.execute(select(Upload.external_id, Upload.order_number, Upload.storage_path))).all()
    assert sorted(rows) == [
        ("u1", 0, "raw/1.txt"),
        ("u2", 1, "raw/2.txt"),
        ("u3", 2, "raw/3.txt"),
        ("u4", 3, "raw/4.txt"),
    ]
    assert [s.args["upload_id"] for s in await outbox_rows(session_factory, PROCESSOR)] == ["u1", "u2", "u3", "u4"]


async def test_upload_keeps_an_existing_commit_row(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a commit the web app already created, with its message and branch
    seeded = await seed_repo(session_factory)
    async with session_factory.begin() as s:
        await create_commit(s, repoid=seeded.repoid, commitid=sha(4), message="fix", branch="dev", state="complete")

    # When an Upload arrives for it
    result = await run_upload(
        session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(4), uploads=[item("u1", "raw/1")]
    )

    # Then the row is kept as it was (its message is there, so the provider is not needed)
    assert result == {"uploads_created": 1, "processors_scheduled": 1, "enrichment": ["no_valid_bot"]}
    async with session_factory() as s:
        commits = (await s.scalars(select(Commit).where(Commit.repoid == seeded.repoid))).all()
    assert [(c.commitid, c.message, c.branch, c.state) for c in commits] == [(sha(4), "fix", "dev", "complete")]


async def test_upload_for_an_unknown_repo_creates_nothing(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    result = await run_upload(session_factory, storage, offline(), repoid=999_999, commitid=sha(5), uploads=[])

    assert result == {"uploads_created": 0, "processors_scheduled": 0, "reason": "repo_not_found"}
    assert await outbox_rows(session_factory) == []


async def test_upload_with_no_uploads_still_creates_the_commit(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    seeded = await seed_repo(session_factory)

    result = await run_upload(session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(6), uploads=[])

    assert result["uploads_created"] == 0
    assert await count_uploads(session_factory, seeded.repoid, sha(6)) == 0
    async with session_factory() as s:
        assert await s.scalar(select(Commit.id).where(Commit.commitid == sha(6))) is not None
