"""SyncRepos against real PostgreSQL and the fake GitHub over real HTTP, one record per page.

A sync runs as the worker runs it, minus Kafka (tests/fakes/pipeline.py): each page record goes
through the real RecordProcessor (ledger, one transaction, retries parked in the outbox) and
its continuation comes back through the real outbox and relay.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.client import build_record
from stream_app.models import OutboxRecord, Owner, ProcessedRecord, Repo
from stream_app.pipeline.context import Delivery, Result, TaskContext
from stream_app.pipeline.outcome import Outcome
from stream_app.providers import factory
from stream_app.providers.github import GitHub
from stream_app.providers.github_app import GithubApp
from stream_app.providers.paging import InvalidCursor
from stream_app.providers.types import RepoInfo, Token, UserRef
from stream_app.services import repo_sync, repo_sync_confirm, repo_sync_page
from stream_app.services.repo_sync_plan import plan_page
from stream_app.settings import Settings
from stream_app.task_args import SyncReposV1
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.pipeline import RecordLoop
from tests.fakes.plugin import app_private_key, fake_github, github_app, provider_http, provider_settings  # noqa: F401

pytestmark = pytest.mark.db

SYNC_REPOS = "app.tasks.sync_repos.SyncRepos"
TOKEN = "gho_alice"
INSTALLATION = 555
Sessions = async_sessionmaker[AsyncSession]
MakeOwner = Callable[..., Awaitable[int]]


@dataclass
class Synced:
    """The outcomes of one sync's records, in the order they ran."""

    outcomes: list[Outcome]

    @property
    def results(self) -> list[dict[str, Any]]:
        return [o.result for o in self.outcomes if o.kind == "done" and o.result is not None]

    @property
    def last(self) -> dict[str, Any]:
        return self.results[-1]

    @property
    def repoids(self) -> list[int]:
        """Every page's repoids, in listing order."""
        return [repoid for result in self.results for repoid in result.get("repoids", [])]

    @property
    def private(self) -> list[int]:
        return sorted({repoid for result in self.results for repoid in result.get("private_repoids", [])})


Run = Callable[..., Awaitable[Synced]]


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:  # noqa: F811
    fake_github.add_user("alice", token=TOKEN)
    fake_github.add_user("bob", token="gho_bob")
    fake_github.add_org("acme", members=["alice"])
    fake_github.add_repo("alice/public", language="python")
    fake_github.add_repo("alice/secret", private=True, default_branch="trunk")
    fake_github.add_repo("acme/widgets", private=True)
    fake_github.add_repo("bob/shared", private=True, collaborators={"alice"})
    fake_github.add_repo("bob/hidden", private=True)
    return fake_github


@pytest.fixture
def owner(gh: FakeGitHub, session_factory: Sessions, provider_settings: Settings) -> MakeOwner:  # noqa: F811
    async def create(login: str = "alice", **overrides: Any) -> int:
        values = {"service_id": str(gh.accounts[login].id), "username": login}
        if login == "alice":
            values["oauth_token"] = encrypt_token(TOKEN, provider_settings.encryption_key)
        async with session_factory.begin() as s:
            return await create_owner(s, **(values | overrides))

    return create


def make_loop(sessions: Sessions, http: httpx.AsyncClient, settings: Settings, app: GithubApp) -> RecordLoop:
    async def handler(ctx: TaskContext, args: SyncReposV1) -> Result:
        return await repo_sync.sync_repos(
            ctx.session,
            args,
            http=ctx.http,
            settings=ctx.settings,
            schedule=ctx.schedule,
            record_id=ctx.record_id,
            app=app,
        )

    return RecordLoop(task=SYNC_REPOS, handler=handler, sessions=sessions, settings=settings, http=http)


@pytest.fixture
def loop(
    session_factory: Sessions,
    provider_http: httpx.AsyncClient,  # noqa: F811
    provider_settings: Settings,  # noqa: F811
    github_app: GithubApp,  # noqa: F811
) -> RecordLoop:
    return make_loop(session_factory, provider_http, provider_settings, github_app)


def send(loop: RecordLoop, ownerid: int, **args: Any) -> str:
    """Queue a SyncRepos record as the web app (or a continuation) would produce it; its id."""
    _, record_id, key, value = build_record(SYNC_REPOS, {"ownerid": ownerid, **args})
    loop.send(value, key.encode() if key else None)
    return record_id


@pytest.fixture
def run(loop: RecordLoop) -> Run:
    async def sync(ownerid: int, **args: Any) -> Synced:
        send(loop, ownerid, **args)
        return Synced(await loop.drain())

    return sync


@pytest.fixture
def per_page(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make the worker's GitHub client list `n` repos a page (GitHub's own default is 100)."""

    def set_per_page(n: int) -> None:
        def build(token: Token, http: httpx.AsyncClient, settings: Settings) -> GitHub:
            return GitHub(token=token, http=http, api_url=settings.github_api_url, per_page=n)

        monkeypatch.setitem(factory.BUILDERS, "github", build)

    return set_per_page


async def repos(sessions: Sessions) -> dict[str, Repo]:
    """Every repos row by '<owner username>/<name>'."""
    async with sessions() as s:
        rows = (await s.execute(select(Owner.username, Repo).join(Owner, Owner.ownerid == Repo.ownerid))).all()
    return {f"{login}/{repo.name}": repo for login, repo in rows}


async def permission(sessions: Sessions, ownerid: int) -> list[int] | None:
    async with sessions() as s:
        return await s.scalar(select(Owner.permission).where(Owner.ownerid == ownerid))


async def versions(sessions: Sessions) -> dict[str, list[tuple[Any, ...]]]:
    """Every owners and repos row's xmin and updatestamp: a rewritten row changes both."""
    async with sessions() as s:
        return {
            table: [tuple(r) for r in await s.execute(text(f"SELECT xmin::text, updatestamp FROM {table} ORDER BY 1"))]
            for table in ("owners", "repos")
        }


def moved(gh: FakeGitHub, full_name: str, new_full_name: str) -> None:
    """Transfer or rename a repo on the fake, keeping its id."""
    repo = gh.repos.pop(full_name)
    repo.owner, repo.name = new_full_name.split("/")
    gh.repos[new_full_name] = repo


def listed_pages(gh: FakeGitHub, path: str = "/user/repos") -> list[int]:
    """The page number of every listing request the fake answered, in order."""
    return [int(r.query.get("page", "1")) for r in gh.requests if r.path == path]


def many_repos(gh: FakeGitHub, count: int, *, owner: str = "alice", private_every: int = 3) -> None:
    for n in range(count):
        gh.add_repo(f"{owner}/r{n:03}", private=n % private_every == 0)


# One page: what a sync writes


async def test_first_sync_upserts_owners_and_repos_and_sets_permission(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner()

    synced = await run(ownerid)

    rows = await repos(session_factory)
    assert set(rows) == {"acme/widgets", "alice/public", "alice/secret", "bob/shared"}
    listed = ["acme/widgets", "alice/public", "alice/secret", "bob/shared"]
    private = sorted(rows[n].repoid for n in ("acme/widgets", "alice/secret", "bob/shared"))
    assert synced.last == {
        "page": 1,
        "repoids": [rows[name].repoid for name in listed],
        "private_repoids": private,
        "continued": False,
        "private_total": 3,
    }
    assert await permission(session_factory, ownerid) == private
    secret = rows["alice/secret"]
    assert (secret.ownerid, secret.service_id, secret.private, secret.branch) == (
        ownerid,
        str(gh.repos["alice/secret"].id),
        True,
        "trunk",
    )
    assert (rows["alice/public"].language, rows["alice/public"].private) == ("python", False)
    async with session_factory() as s:
        bob = await s.scalar(select(Owner).where(Owner.username == "bob"))
    assert bob is not None and bob.service_id == str(gh.accounts["bob"].id)
    assert {r.token for r in gh.requests} == {TOKEN}


async def test_resync_with_no_changes_rewrites_nothing(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions, per_page: Callable[[int], None]
) -> None:
    per_page(2)
    ownerid = await owner()
    first = await run(ownerid)
    before = await versions(session_factory)

    second = await run(ownerid)

    assert len(second.results) == 2 and second.results == first.results
    assert await versions(session_factory) == before


async def test_a_repo_moved_to_another_owner_is_moved(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner()
    await run(ownerid)
    repoid = (await repos(session_factory))["alice/public"].repoid
    moved(gh, "alice/public", "acme/public")

    await run(ownerid)

    rows = await repos(session_factory)
    assert "alice/public" not in rows and rows["acme/public"].repoid == repoid


async def test_a_renamed_repo_keeps_its_row(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner()
    await run(ownerid)
    repoid = (await repos(session_factory))["alice/public"].repoid
    moved(gh, "alice/public", "alice/renamed")

    await run(ownerid)

    rows = await repos(session_factory)
    assert rows["alice/renamed"].repoid == repoid and "alice/public" not in rows


async def test_a_repo_deleted_and_recreated_under_the_same_name_is_relinked(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner()
    await run(ownerid)
    repoid = (await repos(session_factory))["alice/secret"].repoid
    gh.repos.pop("alice/secret")
    new = gh.add_repo("alice/secret", private=True)

    synced = await run(ownerid)

    relinked = (await repos(session_factory))["alice/secret"]
    assert (relinked.repoid, relinked.service_id) == (repoid, str(new.id))
    assert repoid in synced.private


async def test_a_repo_renamed_onto_a_stale_rows_name_moves_the_stale_row_aside(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    # Given a stale row holds the name "tool" (its repo is gone) and alice/public is renamed to "tool"
    ownerid = await owner()
    async with session_factory.begin() as s:
        stale = await create_repo(s, ownerid=ownerid, name="tool", service_id="424242", activated=True)
    await run(ownerid)
    public = (await repos(session_factory))["alice/public"].repoid
    moved(gh, "alice/public", "alice/tool")

    await run(ownerid)

    rows = await repos(session_factory)
    assert rows["alice/tool"].repoid == public and rows["alice/tool"].deleted is False
    aside = rows[f"alice/tool-deleted-{stale}"]
    assert (aside.repoid, aside.service_id, aside.deleted) == (stale, "424242", True)


async def test_two_repos_swapping_names_keep_their_rows(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner()
    await run(ownerid)
    before = await repos(session_factory)
    moved(gh, "alice/public", "alice/tmp")
    moved(gh, "alice/secret", "alice/public")
    moved(gh, "alice/tmp", "alice/secret")

    await run(ownerid)

    after = await repos(session_factory)
    assert after["alice/secret"].repoid == before["alice/public"].repoid
    assert after["alice/public"].repoid == before["alice/secret"].repoid
    assert not [name for name, row in after.items() if row.deleted]


async def test_a_fork_upserts_its_parent_once(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    gh.add_user("upstream")
    gh.add_repo("upstream/lib", language="c")
    gh.add_repo("alice/lib", fork_of="upstream/lib")
    ownerid = await owner()

    synced = await run(ownerid)
    await run(ownerid)

    rows = await repos(session_factory)
    assert rows["upstream/lib"].service_id == str(gh.repos["upstream/lib"].id)
    assert rows["upstream/lib"].language == "c"
    assert rows["upstream/lib"].repoid not in synced.repoids
    assert rows["alice/lib"].repoid in synced.repoids
    assert gh.count("GET", "/repos/alice/lib") == 1  # the known fork is not read again


async def test_permission_is_exactly_what_is_visible_now(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner(permission=[999999])
    await run(ownerid)
    shared = (await repos(session_factory))["bob/shared"].repoid
    assert shared in (await permission(session_factory, ownerid) or [])
    gh.repos["bob/shared"].collaborators.clear()  # access revoked

    synced = await run(ownerid)

    rows = await repos(session_factory)
    expected = sorted(rows[n].repoid for n in ("acme/widgets", "alice/secret"))
    assert synced.private == expected
    assert await permission(session_factory, ownerid) == expected


async def test_installation_mode_marks_exactly_the_listed_repos(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    gh.add_repo("acme/other", private=True)
    gh.add_installation(INSTALLATION, app_id=42, account="acme", repos=["acme/widgets", "acme/other"])
    acme = await owner("acme", integration_id=INSTALLATION, permission=[7])
    async with session_factory.begin() as s:
        legacy = await create_repo(s, ownerid=acme, name="legacy", using_integration=True)

    synced = await run(acme, using_integration=True)

    rows = await repos(session_factory)
    assert synced.repoids == [rows["acme/other"].repoid, rows["acme/widgets"].repoid]
    assert synced.last["listed_total"] == 2
    assert rows["acme/other"].using_integration and rows["acme/widgets"].using_integration
    assert rows["acme/legacy"].repoid == legacy and rows["acme/legacy"].using_integration is False
    assert await permission(session_factory, acme) == [7]  # an installation's list is not a user's access
    assert gh.count("GET", "/installation/repositories") == 1 and gh.count("GET", "/user/repos") == 0
    before = await versions(session_factory)
    await run(acme, using_integration=True)
    assert await versions(session_factory) == before


async def test_installation_mode_without_an_installation_has_no_valid_bot(owner: MakeOwner, run: Run) -> None:
    assert (await run(await owner("acme"), using_integration=True)).last == {"reason": "no_valid_bot"}


async def test_two_members_syncing_the_same_org_at_once(
    gh: FakeGitHub,
    owner: MakeOwner,
    session_factory: Sessions,
    provider_http: httpx.AsyncClient,  # noqa: F811
    provider_settings: Settings,  # noqa: F811
    github_app: GithubApp,  # noqa: F811
) -> None:
    for n in range(150):
        gh.add_repo(f"acme/r{n:03}")
    gh.members["acme"].add("bob")
    alice = await owner()
    bob = await owner("bob", oauth_token=encrypt_token("gho_bob", provider_settings.encryption_key))
    loops = [make_loop(session_factory, provider_http, provider_settings, github_app) for _ in range(2)]
    send(loops[0], alice)
    send(loops[1], bob)

    outcomes = await asyncio.gather(*(loop.drain() for loop in loops))

    acme_repos = {n: r for n, r in (await repos(session_factory)).items() if n.startswith("acme/")}
    assert len(acme_repos) == 151
    assert {o.kind for done in outcomes for o in done} == {"done"}
    assert set(Synced(outcomes[0] + outcomes[1]).repoids) >= {r.repoid for r in acme_repos.values()}


async def test_a_page_colliding_with_a_concurrent_insert_is_written_again(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given another transaction commits a row named alice/secret (another service_id) right after our read
    ownerid = await owner()
    load_rows = repo_sync_page._load_rows
    calls: list[int] = []

    async def racing_load(session: AsyncSession, service: str, listed: Any) -> Any:
        rows = await load_rows(session, service, listed)
        if not calls:
            async with session_factory.begin() as other:
                await create_repo(other, ownerid=ownerid, name="secret", service_id="777")
        calls.append(len(listed))
        return rows

    monkeypatch.setattr(repo_sync_page, "_load_rows", racing_load)

    synced = await run(ownerid)

    assert calls == [4, 4]  # the page was read and written twice
    secret = (await repos(session_factory))["alice/secret"]
    assert secret.service_id == str(gh.repos["alice/secret"].id)  # the racing row was re-linked
    assert secret.repoid in synced.private


async def test_missing_owner(gh: FakeGitHub, run: Run) -> None:
    assert (await run(987654)).last == {"reason": "owner_not_found"}
    assert gh.requests == []


async def test_no_usable_token(gh: FakeGitHub, owner: MakeOwner, run: Run) -> None:
    assert (await run(await owner(oauth_token=None))).last == {"reason": "no_valid_bot"}
    assert gh.requests == []


async def test_revoked_token_gives_a_clear_result(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner(permission=[5])
    gh.revoke(TOKEN)

    assert (await run(ownerid)).last == {"reason": "unauthorized", "pages_synced": 0}
    assert await permission(session_factory, ownerid) == [5]


async def test_not_found_gives_a_clear_result(gh: FakeGitHub, owner: MakeOwner, run: Run) -> None:
    ownerid = await owner()
    gh.fail_next(404, path="/user/repos")

    assert (await run(ownerid)).last == {"reason": "not_found", "pages_synced": 0}


def test_plan_skips_a_second_repo_with_a_name_taken_in_the_same_page() -> None:
    # A listing that shifted while it was paged: two service_ids under one name (no database needed)
    first = RepoInfo("1", "dup", UserRef("9", "alice"), private=False, language=None, default_branch="main")
    second = RepoInfo("2", "dup", UserRef("9", "alice"), private=True, language=None, default_branch="main")

    plan = plan_page([], [(7, first), (7, second)], using_integration=False)

    assert [row["service_id"] for row in plan.inserts] == ["1"] and plan.updates == []


# Many pages: one record each


async def test_each_page_commits_in_its_own_record_and_schedules_the_next(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    many_repos(gh, 246)  # with the 4 visible above: 250 repos, 100 a page
    ownerid = await owner()

    synced = await run(ownerid)

    assert [(r["page"], r["continued"], len(r["repoids"])) for r in synced.results] == [
        (1, True, 100),
        (2, True, 100),
        (3, False, 50),
    ]
    assert listed_pages(gh) == [1, 2, 3]
    assert len(synced.repoids) == len(set(synced.repoids)) == 250
    assert len(await repos(session_factory)) == 250
    assert synced.last["private_total"] == len(synced.private) == 82 + 3
    assert await permission(session_factory, ownerid) == synced.private
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(ProcessedRecord)) == 3
        assert await s.scalar(select(func.count()).select_from(OutboxRecord)) == 0


async def test_a_server_error_on_page_3_keeps_pages_1_and_2_and_the_retry_resumes_at_page_3(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    per_page(2)
    many_repos(gh, 4)  # 8 repos: 4 pages of 2
    ownerid = await owner(permission=[5])
    gh.fail_next(503, path="/user/repos", query={"page": "3"})
    send(loop, ownerid)

    first = await loop.drain()

    assert [o.kind for o in first] == ["done", "done", "retry_scheduled"]
    assert len(await repos(session_factory)) == 4  # pages 1 and 2 are committed
    assert await permission(session_factory, ownerid) == [5]  # the last step has not run

    await loop.fast_forward()
    rest = await loop.drain()

    assert [(o.kind, o.attempt) for o in rest] == [("done", 1), ("done", 0)]
    assert listed_pages(gh) == [1, 2, 3, 3, 4]  # pages 1 and 2 were not requested again
    assert len(await repos(session_factory)) == 8
    private = sorted(r.repoid for r in (await repos(session_factory)).values() if r.private)
    assert await permission(session_factory, ownerid) == private


async def test_a_rate_limit_mid_chain_parks_that_page_until_the_reset(
    gh: FakeGitHub, owner: MakeOwner, loop: RecordLoop, session_factory: Sessions
) -> None:
    many_repos(gh, 146)  # 150 repos: 2 pages
    ownerid = await owner()
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=9)
    send(loop, ownerid)
    await loop.step()
    gh.rate_limit(reset_at=reset, times=1)

    limited = await loop.step()

    assert (limited.kind, loop.pending) == ("retry_scheduled", deque())
    assert len(await repos(session_factory)) == 100  # page 1 is committed
    async with session_factory() as s:
        [parked] = (await s.scalars(select(OutboxRecord))).all()
    assert parked.not_before == reset and b'"page":2' in parked.value
    await loop.fast_forward()
    assert [o.kind for o in await loop.drain()] == ["done"]
    assert len(await repos(session_factory)) == 150 and listed_pages(gh) == [1, 2, 2]


async def test_the_last_page_sets_permission_exactly_across_pages(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    # Given a first full sync, then alice loses access to bob/shared (on page 2 of 2)
    per_page(2)
    ownerid = await owner(permission=[999999])
    send(loop, ownerid)
    await loop.drain()
    granted = await permission(session_factory, ownerid)
    rows = await repos(session_factory)
    assert granted == sorted(rows[n].repoid for n in ("acme/widgets", "alice/secret", "bob/shared"))
    gh.repos["bob/shared"].collaborators.clear()

    send(loop, ownerid)
    await loop.step()
    assert await permission(session_factory, ownerid) == granted  # nothing revoked before the last page
    last = await loop.step()

    assert last.result is not None and (last.result["page"], last.result["continued"]) == (2, False)
    expected = sorted(rows[n].repoid for n in ("acme/widgets", "alice/secret"))
    assert await permission(session_factory, ownerid) == expected
    assert not loop.pending
    assert [r.path for r in gh.requests if r.path.startswith("/repos/")][-1] == "/repos/bob/shared"  # confirmed


async def test_a_mass_revocation_is_not_looked_up_repo_by_repo(
    gh: FakeGitHub, owner: MakeOwner, loop: RecordLoop, session_factory: Sessions
) -> None:
    many_repos(gh, repo_sync_confirm.MAX_LOOKUPS + 1, private_every=1)
    ownerid = await owner()
    send(loop, ownerid)
    await loop.drain()
    for name in [n for n in gh.repos if n.startswith("alice/r")]:
        del gh.repos[name]  # alice loses all of them at once
    gh.requests.clear()

    send(loop, ownerid)
    await loop.drain()

    rows = await repos(session_factory)
    expected = sorted(rows[n].repoid for n in ("acme/widgets", "alice/secret", "bob/shared"))
    assert await permission(session_factory, ownerid) == expected
    assert not [r for r in gh.requests if r.path.startswith("/repos/")]


async def test_a_private_repo_the_shifting_listing_skipped_is_kept_when_still_visible(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    # Given alice sees 8 private repos of her own (plus the fixture's), 4 a page
    per_page(4)
    many_repos(gh, 8, private_every=1)
    ownerid = await owner()
    send(loop, ownerid)
    await loop.drain()
    before = await permission(session_factory, ownerid)
    rows = await repos(session_factory)

    # When a repo on page 1 is deleted right after page 1 was listed: page 2 starts one later
    send(loop, ownerid)
    await loop.step()
    del gh.repos["alice/r000"]
    await loop.drain()

    # Then the repo that slid onto page 1 (listed by no page of this chain) keeps its permission
    after = await permission(session_factory, ownerid)
    assert before is not None and after is not None
    slid = rows["alice/r004"].repoid
    assert slid in before and slid in after
    assert set(after) == set(before)  # r000 was listed on page 1 before it went: kept until next sync


async def test_a_redelivered_page_record_changes_nothing_and_schedules_no_second_continuation(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    per_page(2)
    ownerid = await owner()
    send(loop, ownerid)
    await loop.step()  # page 1, which schedules page 2
    [(key, page_2)] = list(loop.pending)
    loop.send(page_2, key)  # page 2 delivered twice (a crash before its offset commit)

    first = await loop.step()
    written = await versions(session_factory)
    again = await loop.step()

    assert (first.kind, again.kind) == ("done", "duplicate")
    assert await versions(session_factory) == written
    assert listed_pages(gh) == [1, 2] and not loop.pending
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(ProcessedRecord)) == 2
        assert await s.scalar(select(func.count()).select_from(OutboxRecord)) == 0


async def test_a_redelivered_middle_page_schedules_its_continuation_once(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    per_page(2)
    many_repos(gh, 2)  # 6 repos: 3 pages
    ownerid = await owner()
    send(loop, ownerid)
    await loop.step()
    [(key, page_2)] = list(loop.pending)
    loop.send(page_2, key)

    outcomes = await loop.drain()

    pages = [(o.kind, (o.result or {}).get("page")) for o in outcomes]
    assert pages == [("done", 2), ("duplicate", None), ("done", 3)]
    assert listed_pages(gh) == [1, 2, 3]


async def test_a_replayed_chain_runs_each_page_once(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    """`stream-app replay` forgets the ledger rows and the page records run again: each page's
    continuation has an id derived from its own, so the re-scheduled pages are duplicates."""
    per_page(2)
    many_repos(gh, 4)  # 8 repos: 4 pages
    ownerid = await owner()
    consumed: list[tuple[bytes | None, bytes]] = []
    process = loop.processor.process

    async def remember(delivery: Delivery) -> Outcome:
        consumed.append((delivery.key, delivery.value))
        return await process(delivery)

    loop.processor.process = remember  # type: ignore[method-assign]
    send(loop, ownerid)
    assert [o.kind for o in await loop.drain()] == ["done"] * 4
    async with session_factory.begin() as s:
        await s.execute(delete(ProcessedRecord))  # what replay does for the replayed range

    for key, value in list(consumed):
        loop.send(value, key)
    outcomes = await loop.drain()

    done = [o for o in outcomes if o.kind == "done"]
    assert [(o.result or {}).get("page") for o in done] == [1, 2, 3, 4]
    assert sum(1 for o in done if (o.result or {}).get("continued") is False) == 1


async def test_a_cursor_to_another_host_is_refused_with_a_clear_result(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions
) -> None:
    ownerid = await owner(permission=[5])

    for cursor in (
        "https://evil.example/user/repos?page=2",
        "//evil.example/user/repos?page=2",
        f"{gh.url}/user/repos?page=2",  # absolute: cursors are relative to the configured root
        "/user/emails?page=2",
        "/user/repos/../emails",
    ):
        synced = await run(ownerid, cursor=cursor, page=2)
        assert synced.last == {"reason": "invalid_cursor", "pages_synced": 1}, cursor

    assert gh.requests == []
    assert await permission(session_factory, ownerid) == [5]


async def test_a_next_link_leaving_the_api_root_ends_the_chain_with_a_clear_result(
    gh: FakeGitHub, owner: MakeOwner, run: Run, session_factory: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    ownerid = await owner(permission=[5])
    monkeypatch.setattr(
        "stream_app.providers.github.next_link", lambda header: "https://evil.example/user/repos?page=2"
    )

    synced = await run(ownerid)

    assert synced.last == {"reason": "invalid_cursor", "pages_synced": 0}
    assert await repos(session_factory) == {} and await permission(session_factory, ownerid) == [5]


async def test_a_revoked_token_mid_chain_keeps_the_pages_written_and_leaves_permission(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    per_page(2)
    ownerid = await owner(permission=[5])
    send(loop, ownerid)
    await loop.step()
    gh.revoke(TOKEN)

    [outcome] = await loop.drain()

    assert outcome.result == {"reason": "unauthorized", "pages_synced": 1}
    assert len(await repos(session_factory)) == 2 and await permission(session_factory, ownerid) == [5]


async def test_installation_mode_across_pages_unmarks_only_on_the_last_page(
    gh: FakeGitHub,
    owner: MakeOwner,
    loop: RecordLoop,
    session_factory: Sessions,
    per_page: Callable[[int], None],
) -> None:
    per_page(1)
    gh.add_repo("acme/other", private=True)
    gh.add_installation(INSTALLATION, app_id=42, account="acme", repos=["acme/widgets", "acme/other"])
    acme = await owner("acme", integration_id=INSTALLATION)
    async with session_factory.begin() as s:
        legacy = await create_repo(s, ownerid=acme, name="legacy", using_integration=True)
    send(loop, acme, using_integration=True)

    first = await loop.step()
    assert first.result is not None and first.result["continued"] is True
    assert (await repos(session_factory))["acme/legacy"].using_integration is True  # not before the last page
    await loop.drain()

    rows = await repos(session_factory)
    assert rows["acme/other"].using_integration and rows["acme/widgets"].using_integration
    assert rows["acme/legacy"].repoid == legacy and rows["acme/legacy"].using_integration is False
    assert listed_pages(gh, "/installation/repositories") == [1, 2]


async def test_past_the_carry_limit_the_chain_keeps_going_and_permission_only_grows(
    gh: FakeGitHub,
    owner: MakeOwner,
    session_factory: Sessions,
    provider_http: httpx.AsyncClient,  # noqa: F811
    provider_settings: Settings,  # noqa: F811
    github_app: GithubApp,  # noqa: F811
    per_page: Callable[[int], None],
) -> None:
    small = provider_settings.model_copy(update={"max_record_bytes": 1024})  # carries at most 46 ids
    assert repo_sync.carry_limit(small) == 46
    per_page(20)
    many_repos(gh, 76, private_every=1)  # 79 private repos, 4 pages
    ownerid = await owner(permission=[424242])
    loop = make_loop(session_factory, provider_http, small, github_app)
    send(loop, ownerid)

    synced = Synced(await loop.drain())

    assert [o.kind for o in synced.outcomes] == ["done"] * 4  # every continuation fit in 1024 bytes
    assert [r["page"] for r in synced.results] == [1, 2, 3, 4]
    assert synced.last["exact"] is False
    assert len(await repos(session_factory)) == 80
    assert await permission(session_factory, ownerid) == sorted([*synced.private, 424242])  # grown, none revoked


async def test_a_chain_stops_after_max_pages(
    gh: FakeGitHub,
    owner: MakeOwner,
    run: Run,
    session_factory: Sessions,
    per_page: Callable[[int], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    per_page(1)
    monkeypatch.setattr(repo_sync, "MAX_PAGES", 2)
    ownerid = await owner(permission=[5])

    synced = await run(ownerid)

    assert synced.last == {"reason": "too_many_pages", "pages_synced": 2}
    assert listed_pages(gh) == [1, 2] and await permission(session_factory, ownerid) == [5]


# The provider's page listing on GitHub Enterprise (a prefixed API root)


@pytest.fixture
async def ghe() -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub(prefix="/api/v3") as fake:
        fake.add_user("carol", token="t")
        for n in range(3):
            fake.add_repo(f"carol/r{n}")
        yield fake


async def test_github_enterprise_pages_follow_relative_cursors(
    ghe: FakeGitHub,
    provider_http: httpx.AsyncClient,  # noqa: F811
) -> None:
    client = GitHub(token=Token("t", "owner"), http=provider_http, api_url=ghe.url, per_page=2)

    first = await client.list_repos_page()
    second = await client.list_repos_page(first.next_cursor)

    assert first.next_cursor == "/user/repos?per_page=2&page=2"
    assert ([r.name for r in first.repos], [r.name for r in second.repos], second.next_cursor) == (
        ["r0", "r1"],
        ["r2"],
        None,
    )
    assert [(r.path, r.query) for r in ghe.requests] == [
        ("/user/repos", {"per_page": "2"}),
        ("/user/repos", {"per_page": "2", "page": "2"}),
    ]
    with pytest.raises(InvalidCursor):
        await client.list_repos_page("/api/v3/user/repos?page=2")  # relative to the root, not the host
