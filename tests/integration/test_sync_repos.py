"""SyncRepos' service against real PostgreSQL and the fake GitHub over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Owner, Repo
from stream_app.providers.errors import ProviderRateLimited, ProviderServerError
from stream_app.providers.types import RepoInfo, UserRef
from stream_app.services import repo_sync_page
from stream_app.services.repo_sync import sync_repos
from stream_app.services.repo_sync_plan import plan_page
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import app_private_key, fake_github, github_app, provider_http, provider_settings  # noqa: F401

pytestmark = pytest.mark.db

TOKEN = "gho_alice"
INSTALLATION = 555


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
def owner(gh, session_factory, provider_settings):  # noqa: F811
    async def create(login: str = "alice", **overrides: Any) -> int:
        values = {"service_id": str(gh.accounts[login].id), "username": login}
        if login == "alice":
            values["oauth_token"] = encrypt_token(TOKEN, provider_settings.encryption_key)
        async with session_factory.begin() as s:
            return await create_owner(s, **(values | overrides))

    return create


@pytest.fixture
def run(session_factory, provider_http, provider_settings, github_app):  # noqa: F811
    async def sync(ownerid: int, **kwargs: Any) -> dict[str, Any]:
        async with session_factory.begin() as s:
            return await sync_repos(
                s, ownerid=ownerid, http=provider_http, settings=provider_settings, app=github_app, **kwargs
            )

    return sync


async def repos(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Repo]:
    """Every repos row by '<owner username>/<name>'."""
    async with sessions() as s:
        rows = (await s.execute(select(Owner.username, Repo).join(Owner, Owner.ownerid == Repo.ownerid))).all()
    return {f"{login}/{repo.name}": repo for login, repo in rows}


async def permission(sessions: async_sessionmaker[AsyncSession], ownerid: int) -> list[int] | None:
    async with sessions() as s:
        return await s.scalar(select(Owner.permission).where(Owner.ownerid == ownerid))


async def versions(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[Any, ...]]]:
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


async def test_first_sync_upserts_owners_and_repos_and_sets_permission(gh, owner, run, session_factory):
    ownerid = await owner()

    result = await run(ownerid)

    rows = await repos(session_factory)
    assert set(rows) == {"acme/widgets", "alice/public", "alice/secret", "bob/shared"}
    listed = ["acme/widgets", "alice/public", "alice/secret", "bob/shared"]
    assert result["repoids"] == [rows[name].repoid for name in listed]
    private = sorted(rows[n].repoid for n in ("acme/widgets", "alice/secret", "bob/shared"))
    assert result["private_repoids"] == private
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


async def test_resync_with_no_changes_rewrites_nothing(gh, owner, run, session_factory):
    ownerid = await owner()
    first = await run(ownerid)
    before = await versions(session_factory)

    second = await run(ownerid)

    assert second == first
    assert await versions(session_factory) == before


async def test_a_repo_moved_to_another_owner_is_moved(gh, owner, run, session_factory):
    ownerid = await owner()
    await run(ownerid)
    repoid = (await repos(session_factory))["alice/public"].repoid
    moved(gh, "alice/public", "acme/public")

    await run(ownerid)

    rows = await repos(session_factory)
    assert "alice/public" not in rows and rows["acme/public"].repoid == repoid


async def test_a_renamed_repo_keeps_its_row(gh, owner, run, session_factory):
    ownerid = await owner()
    await run(ownerid)
    repoid = (await repos(session_factory))["alice/public"].repoid
    moved(gh, "alice/public", "alice/renamed")

    await run(ownerid)

    rows = await repos(session_factory)
    assert rows["alice/renamed"].repoid == repoid and "alice/public" not in rows


async def test_a_repo_deleted_and_recreated_under_the_same_name_is_relinked(gh, owner, run, session_factory):
    ownerid = await owner()
    await run(ownerid)
    repoid = (await repos(session_factory))["alice/secret"].repoid
    gh.repos.pop("alice/secret")
    new = gh.add_repo("alice/secret", private=True)

    result = await run(ownerid)

    relinked = (await repos(session_factory))["alice/secret"]
    assert (relinked.repoid, relinked.service_id) == (repoid, str(new.id))
    assert repoid in result["private_repoids"]


async def test_a_repo_renamed_onto_a_stale_rows_name_moves_the_stale_row_aside(gh, owner, run, session_factory):
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


async def test_two_repos_swapping_names_keep_their_rows(gh, owner, run, session_factory):
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


async def test_a_fork_upserts_its_parent_once(gh, owner, run, session_factory):
    gh.add_user("upstream")
    gh.add_repo("upstream/lib", language="c")
    gh.add_repo("alice/lib", fork_of="upstream/lib")
    ownerid = await owner()

    result = await run(ownerid)
    await run(ownerid)

    rows = await repos(session_factory)
    assert rows["upstream/lib"].service_id == str(gh.repos["upstream/lib"].id)
    assert rows["upstream/lib"].language == "c"
    assert rows["upstream/lib"].repoid not in result["repoids"]
    assert rows["alice/lib"].repoid in result["repoids"]
    assert gh.count("GET", "/repos/alice/lib") == 1  # the known fork is not read again


async def test_permission_is_exactly_what_is_visible_now(gh, owner, run, session_factory):
    ownerid = await owner(permission=[999999])
    await run(ownerid)
    shared = (await repos(session_factory))["bob/shared"].repoid
    assert shared in (await permission(session_factory, ownerid) or [])
    gh.repos["bob/shared"].collaborators.clear()  # access revoked

    result = await run(ownerid)

    rows = await repos(session_factory)
    expected = sorted(rows[n].repoid for n in ("acme/widgets", "alice/secret"))
    assert result["private_repoids"] == expected
    assert await permission(session_factory, ownerid) == expected


async def test_installation_mode_marks_exactly_the_listed_repos(gh, owner, run, session_factory):
    gh.add_repo("acme/other", private=True)
    gh.add_installation(INSTALLATION, app_id=42, account="acme", repos=["acme/widgets", "acme/other"])
    acme = await owner("acme", integration_id=INSTALLATION, permission=[7])
    async with session_factory.begin() as s:
        legacy = await create_repo(s, ownerid=acme, name="legacy", using_integration=True)

    result = await run(acme, using_integration=True)

    rows = await repos(session_factory)
    assert result["repoids"] == [rows["acme/other"].repoid, rows["acme/widgets"].repoid]
    assert rows["acme/other"].using_integration and rows["acme/widgets"].using_integration
    assert rows["acme/legacy"].repoid == legacy and rows["acme/legacy"].using_integration is False
    assert await permission(session_factory, acme) == [7]  # an installation's list is not a user's access
    assert gh.count("GET", "/installation/repositories") == 1 and gh.count("GET", "/user/repos") == 0
    before = await versions(session_factory)
    await run(acme, using_integration=True)
    assert await versions(session_factory) == before


async def test_installation_mode_without_an_installation_has_no_valid_bot(gh, owner, run):
    assert await run(await owner("acme"), using_integration=True) == {"reason": "no_valid_bot"}


async def test_paging_across_several_pages(gh, owner, run, session_factory):
    for n in range(246):
        gh.add_repo(f"alice/r{n:03}", private=n % 3 == 0)
    ownerid = await owner()

    result = await run(ownerid)

    assert gh.count("GET", "/user/repos") == 3  # 250 repos, 100 a page
    assert len(result["repoids"]) == len(set(result["repoids"])) == 250
    assert len(await repos(session_factory)) == 250
    assert len(result["private_repoids"]) == 82 + 3


async def test_two_members_syncing_the_same_org_at_once(gh, owner, run, session_factory, provider_settings):  # noqa: F811
    for n in range(150):
        gh.add_repo(f"acme/r{n:03}")
    gh.members["acme"].add("bob")
    alice = await owner()
    bob = await owner("bob", oauth_token=encrypt_token("gho_bob", provider_settings.encryption_key))

    results = await asyncio.gather(run(alice), run(bob))

    acme_repos = {n: r for n, r in (await repos(session_factory)).items() if n.startswith("acme/")}
    assert len(acme_repos) == 151
    assert set(results[0]["repoids"]) & set(results[1]["repoids"]) >= {r.repoid for r in acme_repos.values()}


async def test_a_page_colliding_with_a_concurrent_insert_is_written_again(gh, owner, run, session_factory, monkeypatch):
    # Given another transaction commits a row named alice/secret (another service_id) right after our read
    ownerid = await owner()
    load_rows = repo_sync_page._load_rows
    calls = []

    async def racing_load(session: AsyncSession, service: str, listed: Any) -> Any:
        rows = await load_rows(session, service, listed)
        if not calls:
            async with session_factory.begin() as other:
                await create_repo(other, ownerid=ownerid, name="secret", service_id="777")
        calls.append(len(listed))
        return rows

    monkeypatch.setattr(repo_sync_page, "_load_rows", racing_load)

    result = await run(ownerid)

    assert calls == [4, 4]  # the page was read and written twice
    secret = (await repos(session_factory))["alice/secret"]
    assert secret.service_id == str(gh.repos["alice/secret"].id)  # the racing row was re-linked
    assert secret.repoid in result["private_repoids"]


async def test_missing_owner(gh, run):
    assert await run(987654) == {"reason": "owner_not_found"}
    assert gh.requests == []


async def test_no_usable_token(gh, owner, run):
    assert await run(await owner(oauth_token=None)) == {"reason": "no_valid_bot"}
    assert gh.requests == []


async def test_revoked_token_gives_a_clear_result(gh, owner, run, session_factory):
    ownerid = await owner(permission=[5])
    gh.revoke(TOKEN)

    assert await run(ownerid) == {"reason": "unauthorized", "pages_synced": 0}
    assert await permission(session_factory, ownerid) == [5]


async def test_not_found_gives_a_clear_result(gh, owner, run):
    ownerid = await owner()
    gh.fail_next(404, path="/user/repos")

    assert await run(ownerid) == {"reason": "not_found", "pages_synced": 0}


async def test_rate_limit_mid_listing_rolls_back_and_is_retried_at_the_reset(gh, owner, run, session_factory):
    for n in range(150):
        gh.add_repo(f"alice/r{n:03}")
    ownerid = await owner()
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=9)
    limited = _rate_limit_after(gh, requests=1, reset=reset)

    with pytest.raises(ProviderRateLimited) as caught:
        await run(ownerid)

    assert limited() and caught.value.at == reset
    assert await repos(session_factory) == {}  # the record's transaction rolled back


async def test_server_error_is_retried(gh, owner, run, session_factory):
    ownerid = await owner()
    gh.fail_next(503, path="/user/repos")

    with pytest.raises(ProviderServerError):
        await run(ownerid)
    assert await repos(session_factory) == {}


def _rate_limit_after(gh: FakeGitHub, *, requests: int, reset: datetime) -> Any:
    """Rate-limit the fake once `requests` requests went through (here: after page 1)."""
    original = gh._check_switches

    def check(method: str, path: str) -> None:
        if len(gh.requests) > requests:
            gh.rate_limit(reset_at=reset)
        original(method, path)

    gh._check_switches = check  # type: ignore[method-assign]
    return lambda: len(gh.requests) == requests + 1


def test_plan_skips_a_second_repo_with_a_name_taken_in_the_same_page():
    # A listing that shifted while it was paged: two service_ids under one name (no database needed)
    first = RepoInfo("1", "dup", UserRef("9", "alice"), private=False, language=None, default_branch="main")
    second = RepoInfo("2", "dup", UserRef("9", "alice"), private=True, language=None, default_branch="main")

    plan = plan_page([], [(7, first), (7, second)], using_integration=False)

    assert [row["service_id"] for row in plan.inserts] == ["1"] and plan.updates == []
