# ruff: noqa: F811  (the fake GitHub's fixtures are imported, then named as test parameters)
"""Upload and UploadProcessor talking to a (fake, real-HTTP) GitHub: best-effort enrichment,
the yaml, the webhook, and the repo's file list for path fixing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from stream_app.coverage import load_partial
from stream_app.models import Commit, Owner, Repo, Upload
from stream_app.providers import ProviderRateLimited, ProviderServerError
from stream_app.services.upload_paths import commit_yaml_path, partial_path, read_json
from stream_app.services.uploads import ProviderAccess
from stream_app.settings import Settings
from stream_app.storage import ArchiveStorage, LocalStorage
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import fake_github, provider_http, provider_settings  # noqa: F401
from tests.support.uploads import (
    Sessions,
    commit_row,
    fixture,
    item,
    run_processor,
    run_upload,
    store_raw,
)

pytestmark = pytest.mark.db
HOOK_URL = "https://coverage.example/webhooks/github"
YAML = b"codecov:\n  notify:\n    after_n_builds: 2\nfixes:\n  - 'shapes/::lib/shapes/'\n"


@dataclass(frozen=True)
class World:
    repoid: int
    base: str  # the default branch's first commit
    head: str  # its second, by bob, with a codecov.yml


@pytest.fixture
async def world(session_factory: Sessions, fake_github: FakeGitHub, provider_settings: Settings) -> World:
    gh = fake_github
    gh.add_user("acme", token="tok-acme")
    gh.add_user("bob")
    gh.add_repo("acme/widgets")
    base = gh.add_commit("acme/widgets", message="init", branch="main", files={"lib/shapes/geometry.py": b"x"})
    head = gh.add_commit("acme/widgets", message="Add yaml", author="bob", branch="main", files={"codecov.yml": YAML})
    token = encrypt_token("tok-acme", provider_settings.encryption_key)
    async with session_factory.begin() as s:
        service_id = str(gh.accounts["acme"].id)
        ownerid = await create_owner(s, username="acme", service_id=service_id, oauth_token=token)
        repo_service_id = str(gh.repos["acme/widgets"].id)
        repoid = await create_repo(s, ownerid=ownerid, name="widgets", service_id=repo_service_id, branch="main")
    return World(repoid, base.sha, head.sha)


@pytest.fixture
def access(provider_http: httpx.AsyncClient, provider_settings: Settings) -> ProviderAccess:
    return ProviderAccess(provider_http, provider_settings, 0, HOOK_URL, "s3cret")


async def _upload(
    session_factory: Sessions, storage: ArchiveStorage, access: ProviderAccess, world: World, commitid: str
) -> dict[str, Any]:
    path = await store_raw(storage, world.repoid, commitid[-6:], fixture("coveragepy/coverage.xml"))
    return await run_upload(
        session_factory, storage, access, repoid=world.repoid, commitid=commitid, uploads=[item("u1", path)]
    )


async def test_upload_fills_the_commit_saves_the_yaml_and_creates_the_hook(
    session_factory: Sessions, storage: LocalStorage, access: ProviderAccess, world: World, fake_github: FakeGitHub
) -> None:
    result = await _upload(session_factory, storage, access, world, world.head)

    assert result == {"uploads_created": 1, "processors_scheduled": 1}
    commit = await commit_row(session_factory, world.repoid, world.head)
    assert (commit.message, commit.parent, commit.branch, commit.pullid) == ("Add yaml", world.base, "main", None)
    async with session_factory() as s:
        author = await s.get(Owner, commit.author)
        repo = await s.get_one(Repo, world.repoid)
    assert author is not None and author.username == "bob"
    assert repo.yaml is not None
    assert repo.yaml["codecov"]["notify"]["after_n_builds"] == 2
    assert await read_json(storage, commit_yaml_path(world.repoid, world.head)) == repo.yaml
    (hook_id, hook) = next(iter(fake_github.repos["acme/widgets"].hooks.items()))
    assert repo.hookid == str(hook_id) and hook["config"]["url"] == HOOK_URL


async def test_a_pull_commit_gets_its_pull_and_branch_and_leaves_repo_yaml_alone(
    session_factory: Sessions, storage: LocalStorage, access: ProviderAccess, world: World, fake_github: FakeGitHub
) -> None:
    # Given a feature branch with a pull request
    feature = fake_github.add_commit("acme/widgets", message="feat", branch="feature", parents=[world.head])
    fake_github.add_pull("acme/widgets", number=5, base="main", head="feature", author="acme")

    await _upload(session_factory, storage, access, world, feature.sha)

    commit = await commit_row(session_factory, world.repoid, feature.sha)
    assert (commit.message, commit.pullid, commit.branch) == ("feat", 5, "feature")
    async with session_factory() as s:
        assert (await s.get_one(Repo, world.repoid)).yaml is None
    commit_yaml = await read_json(storage, commit_yaml_path(world.repoid, feature.sha))
    assert commit_yaml is not None and commit_yaml["fixes"] == ["shapes/::lib/shapes/"]


async def test_an_existing_hook_with_our_url_is_reused(
    session_factory: Sessions, storage: LocalStorage, access: ProviderAccess, world: World, fake_github: FakeGitHub
) -> None:
    fake_github.repos["acme/widgets"].hooks[77] = {"config": {"url": HOOK_URL}, "events": ["push"], "active": True}

    await _upload(session_factory, storage, access, world, world.head)

    async with session_factory() as s:
        assert (await s.get_one(Repo, world.repoid)).hookid == "77"
    assert fake_github.count("POST", "/repos/acme/widgets/hooks") == 0


async def test_a_provider_4xx_is_skipped_with_its_reason(
    session_factory: Sessions, storage: LocalStorage, access: ProviderAccess, world: World
) -> None:
    result = await _upload(session_factory, storage, access, world, "f" * 40)  # a sha GitHub does not know

    assert result["uploads_created"] == 1
    assert "commit: provider_not_found" in result["enrichment"]


async def test_no_token_goes_on_without_the_provider(
    session_factory: Sessions, storage: LocalStorage, access: ProviderAccess, world: World, fake_github: FakeGitHub
) -> None:
    async with session_factory.begin() as s:
        owner = await s.scalar(select(Owner).where(Owner.username == "acme"))
        assert owner is not None
        owner.oauth_token = None

    result = await _upload(session_factory, storage, access, world, world.head)

    assert result == {"uploads_created": 1, "processors_scheduled": 1, "enrichment": ["no_valid_bot"]}
    assert fake_github.requests == []


async def test_a_missing_encryption_key_is_a_reason_not_a_failure(
    session_factory: Sessions, storage: LocalStorage, provider_http: httpx.AsyncClient, world: World
) -> None:
    access = ProviderAccess(provider_http, Settings(encryption_key=None), 0)

    result = await _upload(session_factory, storage, access, world, world.head)

    assert result["enrichment"] == ["token: encryption_key_missing"]


@pytest.mark.parametrize("outage", ["server_error", "rate_limit"])
async def test_a_transient_outage_delays_the_first_attempts_only(
    session_factory: Sessions,
    storage: LocalStorage,
    access: ProviderAccess,
    world: World,
    fake_github: FakeGitHub,
    outage: str,
) -> None:
    # Given a provider that keeps failing
    if outage == "server_error":
        fake_github.fail_next(502, times=1000)
        expected: type[Exception] = ProviderServerError
    else:
        fake_github.rate_limit(reset_at=datetime.now(UTC) + timedelta(minutes=5))
        expected = ProviderRateLimited

    # When the Upload runs on its first attempt, it asks to be retried and commits nothing
    with pytest.raises(expected):
        await _upload(session_factory, storage, access, world, world.head)
    async with session_factory() as s:
        assert await s.scalar(select(Commit.id).where(Commit.commitid == world.head)) is None

    # On its third retry it goes on without the provider
    late = ProviderAccess(access.http, access.settings, 3, HOOK_URL, "s3cret")
    result = await _upload(session_factory, storage, late, world, world.head)
    assert result["uploads_created"] == 1
    assert "commit: provider_unavailable" in result["enrichment"]


async def test_the_processor_fixes_paths_with_the_repo_file_list_asked_once_per_commit(
    session_factory: Sessions, storage: LocalStorage, access: ProviderAccess, world: World, fake_github: FakeGitHub
) -> None:
    # Given a commit with no yaml fixes, whose repo has `lib/shapes/geometry.py`, and two uploads without a file list
    commitid = world.base
    paths = [await store_raw(storage, world.repoid, f"p{n}", fixture("coveragepy/coverage.xml")) for n in range(2)]
    items = [item(f"u{n}", p) for n, p in enumerate(paths)]
    await run_upload(session_factory, storage, access, repoid=world.repoid, commitid=commitid, uploads=items)

    # When both are processed
    for n in range(2):
        result = await run_processor(
            session_factory, storage, access, repoid=world.repoid, commitid=commitid, upload_id=f"u{n}"
        )
        assert result["state"] == "processed"

    # Then the report's path is the repo's, and the tree was asked for once
    async with session_factory() as s:
        pks = (await s.scalars(select(Upload.id).order_by(Upload.id))).all()
    for pk in pks:
        partial = load_partial(await storage.read(partial_path(world.repoid, commitid, pk)))
        assert set(partial.files) == {"lib/shapes/geometry.py"}
    assert fake_github.count("GET", "/repos/acme/widgets/git/trees") == 1
