"""pulls.Sync's service against real PostgreSQL, a local archive and the fake GitHub over HTTP."""

# ruff: noqa: F811 - pytest fixtures imported from tests.fakes.plugin are parameters by the same name

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.coverage import Branches, Coverage, PartialReport, Report, Session, dump_report, hits
from stream_app.models import Commit, OutboxRecord, Owner, Pull
from stream_app.pipeline import outbox
from stream_app.providers import ProviderRateLimited, ProviderServerError
from stream_app.services.pulls import sync_pull
from stream_app.services.repo_provider import ProviderSetup
from stream_app.settings import Settings
from stream_app.storage import ArchiveStorage, LocalStorage
from stream_app.storage.paths import commit_report_path
from stream_app.tokens import encrypt_token
from tests.factories import create_commit, create_owner, create_pull, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import fake_github, provider_http, provider_settings  # noqa: F401

pytestmark = pytest.mark.db

TOKEN = "gho_alice"
Sessions = async_sessionmaker[AsyncSession]
OLD_APP = b"a = 1\nb = 2\nc = 3\n"
NEW_APP = b"a = 1\nb = 20\nc = 3\nd = 4\n"  # line 2 changed, line 4 added
NEW_FILE = b"x = 1\ny = 2\nz = 3\n"  # lines 1-3 added
# What the head report says about the changed lines, and so the exact diff coverage:
# src/app.py lines 2 (hit) and 4 (1 of 2 branches: partial); src/new.py lines 1 (miss), 2 and 3 (hits).
# README.md changes too, but the report does not track it.
EXPECTED_DIFF_FILES = {
    "src/app.py": {"lines": 2, "hits": 1, "misses": 0, "partials": 1, "coverage": "50.00000"},
    "src/new.py": {"lines": 3, "hits": 2, "misses": 1, "partials": 0, "coverage": "66.66666"},
}
EXPECTED_DIFF_TOTALS = {"files": 2, "lines": 5, "hits": 3, "misses": 1, "partials": 1, "coverage": "60.00000"}


@dataclass(frozen=True)
class Seeded:
    repoid: int
    ownerid: int
    base: str
    commits: tuple[str, ...]  # the pull's commits, oldest first; the last is the head

    @property
    def head(self) -> str:
        return self.commits[-1]


Seed = Callable[..., Awaitable[Seeded]]


@pytest.fixture
def setup(provider_http: httpx.AsyncClient, provider_settings: Settings) -> ProviderSetup:
    return ProviderSetup(provider_http, provider_settings)


def build_fake(gh: FakeGitHub) -> tuple[int, str, tuple[str, ...]]:
    """alice/widgets with pull #1 by bob: feature (two commits) into main."""
    gh.add_user("alice", token=TOKEN)
    gh.add_user("bob")
    repo = gh.add_repo("alice/widgets", private=True, collaborators={"bob"})
    base = gh.add_commit("alice/widgets", branch="main", files={"src/app.py": OLD_APP, "README.md": b"hi\n"}).sha
    first = gh.add_commit("alice/widgets", branch="feature", parents=[base], files={"src/app.py": NEW_APP}).sha
    files = {"src/new.py": NEW_FILE, "README.md": b"hello\n"}
    head = gh.add_commit("alice/widgets", branch="feature", parents=[first], files=files).sha
    gh.add_pull("alice/widgets", number=1, base="main", head="feature", author="bob", title="Add new.py")
    return repo.id, base, (first, head)


@pytest.fixture
def seed(session_factory: Sessions, fake_github: FakeGitHub, provider_settings: Settings) -> Seed:
    async def create(*, token: str | None = TOKEN) -> Seeded:
        repo_service_id, base, commits = build_fake(fake_github)
        stored = encrypt_token(token, provider_settings.encryption_key) if token else None
        alice = str(fake_github.accounts["alice"].id)
        async with session_factory.begin() as s:
            ownerid = await create_owner(s, service_id=alice, username="alice", oauth_token=stored)
            repoid = await create_repo(s, ownerid=ownerid, name="widgets", service_id=str(repo_service_id))
        return Seeded(repoid, ownerid, base, commits)

    return create


async def write_head_report(storage: ArchiveStorage, repoid: int, commitid: str) -> None:
    """The head commit's report, built by hand, where the upload pipeline would store it."""
    partial_report = PartialReport(Session(0, flags=("unit",)))
    partial_report.add_file("src/app.py", {1: hits(1), 2: hits(4), 3: hits(0), 4: Coverage(1, Branches(1, 2))})
    partial_report.add_file("src/new.py", {1: hits(0), 2: hits(3), 3: hits(5)})
    report = Report()
    report.merge_partial(partial_report)
    await storage.write(commit_report_path(repoid, commitid), dump_report(report))


async def run(
    session_factory: Sessions,
    setup: ProviderSetup,
    storage: ArchiveStorage,
    repoid: int,
    *,
    pullid: int = 1,
    notify: bool = True,
) -> dict[str, Any]:
    async with session_factory.begin() as s:
        schedule = partial(outbox.schedule_task, s, "")
        return await sync_pull(
            s, setup, storage, repoid=repoid, pullid=pullid, should_send_notifications=notify, schedule=schedule
        )


async def stored_pull(session_factory: Sessions, repoid: int, pullid: int = 1) -> Pull:
    async with session_factory() as s:
        pull = await s.scalar(select(Pull).where(Pull.repoid == repoid, Pull.pullid == pullid))
    assert pull is not None
    return pull


async def scheduled(session_factory: Sessions) -> list[tuple[str, dict[str, Any]]]:
    async with session_factory() as s:
        rows = (await s.scalars(select(OutboxRecord).order_by(OutboxRecord.id))).all()
    return [(json.loads(r.value)["task"], json.loads(r.value)["args"]) for r in rows]


def result(updated: bool, merged: int = 0, deleted: int = 0, notified: bool = True) -> dict[str, Any]:
    return {"pull_updated": updated, "merged_count": merged, "soft_deleted_count": deleted, "notifier_called": notified}


async def test_sync_stores_the_pull_its_author_and_exact_diff_coverage(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    await write_head_report(storage, seeded.repoid, seeded.head)

    outcome = await run(session_factory, setup, storage, seeded.repoid)

    assert outcome == result(updated=True)
    pull = await stored_pull(session_factory, seeded.repoid)
    assert (pull.state, pull.title, pull.base, pull.head) == ("open", "Add new.py", seeded.base, seeded.head)
    assert pull.diff == {
        "base": seeded.base,
        "head": seeded.head,
        "files": EXPECTED_DIFF_FILES,
        "totals": EXPECTED_DIFF_TOTALS,
    }
    async with session_factory() as s:
        author = await s.get(Owner, pull.author)
    assert author is not None and (author.username, author.service_id) == ("bob", str(fake_github.accounts["bob"].id))
    notify = {"repoid": seeded.repoid, "commitid": seeded.head, "current_yaml": None}
    assert await scheduled(session_factory) == [("app.tasks.notify.Notify", notify)]


async def test_sync_without_a_head_report_stores_no_diff(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed, fake_github: FakeGitHub
) -> None:
    # Given a pull stored with an older diff, and no report for the new head
    seeded = await seed()
    async with session_factory.begin() as s:
        await create_pull(s, repoid=seeded.repoid, pullid=1, head="0" * 40, diff={"totals": {"coverage": "10"}})

    outcome = await run(session_factory, setup, storage, seeded.repoid, notify=False)

    # Then the diff is honestly unknown (SQL NULL), and the provider was not asked for a compare
    assert outcome == result(updated=True, notified=False)
    async with session_factory() as s:
        assert await s.scalar(select(Pull.diff.is_(None)).where(Pull.repoid == seeded.repoid)) is True
    assert fake_github.count("GET", "/repos/alice/widgets/compare") == 0
    assert await scheduled(session_factory) == []


async def test_sync_twice_is_a_no_op(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed
) -> None:
    seeded = await seed()
    await write_head_report(storage, seeded.repoid, seeded.head)
    await run(session_factory, setup, storage, seeded.repoid, notify=False)
    before = await stored_pull(session_factory, seeded.repoid)

    again = await run(session_factory, setup, storage, seeded.repoid, notify=False)

    assert again == result(updated=False, notified=False)
    after = await stored_pull(session_factory, seeded.repoid)
    assert (after.updatestamp, after.diff) == (before.updatestamp, before.diff)


async def _pull_commits(session_factory: Sessions, seeded: Seeded) -> dict[str, int]:
    """Commit rows: the pull's two, one force-pushed away (pullid 1), one of another pull."""
    async with session_factory.begin() as s:
        ids = {
            sha: await create_commit(s, repoid=seeded.repoid, commitid=sha, pullid=1, branch="feature")
            for sha in seeded.commits
        }
        ids["gone"] = await create_commit(s, repoid=seeded.repoid, commitid="9" * 40, pullid=1, branch="feature")
        ids["other"] = await create_commit(s, repoid=seeded.repoid, commitid="8" * 40, pullid=2, branch="other")
    return ids


async def commits(session_factory: Sessions, repoid: int) -> dict[str, tuple[str | None, bool | None, bool | None]]:
    async with session_factory() as s:
        rows = await s.execute(
            select(Commit.commitid, Commit.branch, Commit.merged, Commit.deleted).where(Commit.repoid == repoid)
        )
        return {sha: (branch, merged, deleted) for sha, branch, merged, deleted in rows.all()}


def merge(gh: FakeGitHub, seeded: Seeded, *, squash: bool) -> None:
    parents = [seeded.base] if squash else [seeded.base, seeded.head]
    merged = gh.add_commit("alice/widgets", branch="main", parents=parents, message="Merge pull request #1").sha
    pull = gh.pulls[("alice/widgets", 1)]
    pull.state, pull.merged, pull.merge_commit_sha = "closed", True, merged


async def test_a_merged_pull_marks_its_commits_merged_and_soft_deletes_the_rest(
    session_factory: Sessions,
    setup: ProviderSetup,
    storage: LocalStorage,
    seed: Seed,
    fake_github: FakeGitHub,
) -> None:
    seeded = await seed()
    await _pull_commits(session_factory, seeded)
    merge(fake_github, seeded, squash=False)

    outcome = await run(session_factory, setup, storage, seeded.repoid, notify=False)

    assert outcome == result(updated=True, merged=2, deleted=1, notified=False)
    assert (await stored_pull(session_factory, seeded.repoid)).state == "merged"
    assert await commits(session_factory, seeded.repoid) == {
        seeded.commits[0]: ("main", True, None),
        seeded.head: ("main", True, None),
        "9" * 40: ("feature", None, True),
        "8" * 40: ("other", None, None),
    }
    # and again: everything is already in place
    assert await run(session_factory, setup, storage, seeded.repoid, notify=False) == result(False, notified=False)


async def test_a_squash_merged_pull_does_not_mark_commits_merged(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    await _pull_commits(session_factory, seeded)
    merge(fake_github, seeded, squash=True)

    outcome = await run(session_factory, setup, storage, seeded.repoid, notify=False)

    assert outcome == result(updated=True, merged=0, deleted=1, notified=False)
    assert (await commits(session_factory, seeded.repoid))[seeded.head] == ("feature", None, None)


async def test_sync_gives_clear_results_for_missing_things(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    nothing = result(False, notified=False)

    assert await run(session_factory, setup, storage, 4040) == {**nothing, "reason": "repo_not_found"}
    assert await run(session_factory, setup, storage, seeded.repoid, pullid=99) == {
        **nothing,
        "reason": "pull_not_found",
    }
    fake_github.revoke(TOKEN)
    assert await run(session_factory, setup, storage, seeded.repoid) == {**nothing, "reason": "unauthorized"}
    assert await scheduled(session_factory) == []


async def test_sync_without_a_token_says_so(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed(token=None)

    assert await run(session_factory, setup, storage, seeded.repoid) == {
        **result(False, notified=False),
        "reason": "no_valid_bot",
    }
    assert fake_github.requests == []


async def test_sync_rate_limited_is_retried_at_the_reset_time(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    reset_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=9)
    fake_github.rate_limit(reset_at=reset_at)

    with pytest.raises(ProviderRateLimited) as raised:
        await run(session_factory, setup, storage, seeded.repoid)

    assert raised.value.at == reset_at
    assert await scheduled(session_factory) == []


async def test_sync_provider_error_is_retried_and_writes_nothing(
    session_factory: Sessions, setup: ProviderSetup, storage: LocalStorage, seed: Seed, fake_github: FakeGitHub
) -> None:
    seeded = await seed()
    await write_head_report(storage, seeded.repoid, seeded.head)
    fake_github.fail_next(502, path="/repos/alice/widgets/compare")

    with pytest.raises(ProviderServerError):
        await run(session_factory, setup, storage, seeded.repoid)

    async with session_factory() as s:
        assert (await s.scalars(select(Pull))).all() == []
    assert await scheduled(session_factory) == []
