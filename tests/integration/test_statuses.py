"""SetPending and SetError against real PostgreSQL rows and the fake GitHub over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.errors import RetryLater
from stream_app.models import Repo
from stream_app.providers.errors import ProviderRateLimited, ProviderServerError
from stream_app.services import statuses
from stream_app.services.repo_provider import ProviderSetup
from stream_app.services.status_rules import CI_FAILED_DESCRIPTION, PENDING_DESCRIPTION
from stream_app.settings import Settings
from stream_app.tokens import encrypt_token
from tests.factories import create_owner, create_repo
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import fake_github, provider_http, provider_settings  # noqa: F401

pytestmark = pytest.mark.db

TOKEN = "gho_alice_token"
SLUG = "acme/widgets"
Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Setup:
    gh: FakeGitHub
    sessions: Sessions
    access: ProviderSetup
    repoid: int
    sha: str

    def commit(self, yaml: str | None = None, *, branch: str = "main") -> str:
        """A new commit on the fake, with `codecov.yml` when given; returns its sha."""
        files: dict[str, bytes | None] = {"codecov.yml": yaml.encode() if yaml is not None else None}
        return self.gh.add_commit(SLUG, branch=branch, files=files).sha

    def posts(self, sha: str | None = None) -> int:
        return self.gh.count("POST", f"/repos/{SLUG}/statuses/{sha or self.sha}")

    def statuses(self, sha: str | None = None) -> dict[str, tuple[str, str | None]]:
        """The newest (state, description) per context on the fake."""
        return {s["context"]: (s["state"], s["description"]) for s in self.gh.statuses.get((SLUG, sha or self.sha), [])}

    async def pending(self, sha: str | None = None, *, branch: str | None = "main", pull: bool = False) -> Any:
        async with self.sessions.begin() as s:
            return await statuses.set_pending(
                s,
                repoid=self.repoid,
                commitid=sha or self.sha,
                branch=branch,
                on_a_pull_request=pull,
                setup=self.access,
            )

    async def error(self, sha: str | None = None, *, message: str | None = None) -> Any:
        async with self.sessions.begin() as s:
            return await statuses.set_error(
                s, repoid=self.repoid, commitid=sha or self.sha, message=message, setup=self.access
            )


@pytest.fixture
async def setup(
    fake_github: FakeGitHub,  # noqa: F811
    provider_http: httpx.AsyncClient,  # noqa: F811
    provider_settings: Settings,  # noqa: F811
    session_factory: Sessions,
) -> Setup:
    gh = fake_github
    gh.add_user("alice", token=TOKEN)
    gh.add_org("acme", members=["alice"])
    gh.add_repo(SLUG, private=True)
    sha = gh.add_commit(SLUG, branch="main", files={"src/app.py": b"a = 1\n"}).sha
    async with session_factory.begin() as s:
        ownerid = await create_owner(
            s, username="acme", oauth_token=encrypt_token(TOKEN, provider_settings.encryption_key)
        )
        repoid = await create_repo(s, ownerid=ownerid, name="widgets")
    return Setup(gh, session_factory, ProviderSetup(provider_http, provider_settings), repoid, sha)


async def set_repo_yaml(setup: Setup, yaml: dict[str, Any]) -> None:
    async with setup.sessions.begin() as s:
        repo = await s.get(Repo, setup.repoid)
        assert repo is not None
        repo.yaml = yaml


# SetPending


async def test_set_pending_posts_the_default_statuses(setup: Setup) -> None:
    result = await setup.pending()

    assert result == {"status_set": True, "contexts": ["codecov/project", "codecov/patch"]}
    assert setup.statuses() == {
        "codecov/project": ("pending", PENDING_DESCRIPTION),
        "codecov/patch": ("pending", PENDING_DESCRIPTION),
    }


async def test_set_pending_twice_is_a_no_op(setup: Setup) -> None:
    await setup.pending()
    posts = setup.posts()

    again = await setup.pending()

    assert again == {"status_set": False, "contexts": []}
    assert setup.posts() == posts == 2


async def test_set_pending_leaves_statuses_already_posted_and_other_contexts(setup: Setup) -> None:
    setup.gh.statuses[(SLUG, setup.sha)] = [
        {"context": "codecov/project", "state": "success", "description": "80.00% (+1.00%)"},
        {"context": "ci/build", "state": "pending", "description": "running"},
    ]

    result = await setup.pending()

    assert result["contexts"] == ["codecov/patch"]
    assert setup.statuses()["codecov/project"] == ("success", "80.00% (+1.00%)")


async def test_set_pending_uses_named_statuses_from_the_commit_yaml(setup: Setup) -> None:
    sha = setup.commit(
        "coverage:\n  status:\n    project:\n      backend: {target: 80}\n      ui: {}\n    patch: off\n"
    )

    result = await setup.pending(sha)

    assert result["contexts"] == ["codecov/project/backend", "codecov/project/ui"]


async def test_the_commit_yaml_is_merged_over_the_repo_yaml(setup: Setup) -> None:
    await set_repo_yaml(setup, {"coverage": {"status": {"changes": True, "patch": False}}})
    sha = setup.commit("coverage:\n  status:\n    patch: true\n")

    result = await setup.pending(sha)

    assert result["contexts"] == ["codecov/project", "codecov/patch", "codecov/changes"]


async def test_set_pending_respects_the_branch_filters(setup: Setup) -> None:
    yaml = (
        "coverage:\n  status:\n"
        "    project:\n      default:\n        branches: [main]\n"
        "    patch:\n      default:\n        branches: ['!main']\n"
    )
    on_main = setup.commit(yaml)
    on_feature = setup.commit(yaml, branch="feature/login")

    assert (await setup.pending(on_main, branch="main"))["contexts"] == ["codecov/project"]
    assert (await setup.pending(on_feature, branch="feature/login"))["contexts"] == ["codecov/patch"]


async def test_set_pending_respects_only_pulls(setup: Setup) -> None:
    sha = setup.commit("coverage:\n  status:\n    project:\n      default:\n        only_pulls: true\n")

    assert (await setup.pending(sha, pull=False))["contexts"] == ["codecov/patch"]
    assert (await setup.pending(sha, pull=True))["contexts"] == ["codecov/project"]


async def test_set_pending_skips_statuses_with_set_pending_false(setup: Setup) -> None:
    sha = setup.commit("coverage:\n  status:\n    patch:\n      default:\n        set_pending: false\n")

    assert (await setup.pending(sha))["contexts"] == ["codecov/project"]


async def test_an_invalid_commit_yaml_falls_back_and_is_reported(setup: Setup) -> None:
    sha = setup.commit("coverage:\n  status: [not, a, mapping\n")

    result = await setup.pending(sha)

    assert result["contexts"] == ["codecov/project", "codecov/patch"]
    assert len(result["yaml_errors"]) == 1 and result["yaml_errors"][0].startswith("commit:codecov.yml: invalid YAML")


# SetError


async def test_set_error_changes_only_the_statuses_already_posted(setup: Setup) -> None:
    setup.gh.statuses[(SLUG, setup.sha)] = [
        {"context": "codecov/project", "state": "pending", "description": PENDING_DESCRIPTION},
        {"context": "ci/build", "state": "failure", "description": "broken"},
    ]

    result = await setup.error()

    assert result == {"status_set": True, "contexts": ["codecov/project"]}
    assert setup.statuses() == {
        "codecov/project": ("error", CI_FAILED_DESCRIPTION),
        "ci/build": ("failure", "broken"),
    }


async def test_set_error_states_follow_informational_and_if_ci_failed(setup: Setup) -> None:
    sha = setup.commit(
        "coverage:\n  status:\n    project:\n      default: {informational: true}\n      api: {if_ci_failed: failure}\n"
    )
    await setup.pending(sha)

    result = await setup.error(sha, message="The build broke")

    assert result["contexts"] == ["codecov/project", "codecov/project/api", "codecov/patch"]
    assert setup.statuses(sha) == {
        "codecov/project": ("success", "The build broke"),
        "codecov/project/api": ("failure", "The build broke"),
        "codecov/patch": ("error", "The build broke"),
    }


async def test_set_error_twice_is_a_no_op(setup: Setup) -> None:
    await setup.pending()
    await setup.error()
    posts = setup.posts()

    again = await setup.error()

    assert again == {"status_set": False, "contexts": []}
    assert setup.posts() == posts == 4


async def test_set_error_without_our_statuses_posts_nothing_and_reads_no_yaml(setup: Setup) -> None:
    result = await setup.error()

    assert result == {"status_set": False, "contexts": []}
    assert setup.posts() == 0 and setup.gh.count("GET", f"/repos/{SLUG}/contents") == 0


# Tokens and provider failures


async def test_no_token_is_no_valid_bot(setup: Setup, session_factory: Sessions) -> None:
    async with session_factory.begin() as s:
        repoid = await create_repo(s, ownerid=await create_owner(s, username="acme2"), name="widgets")
    setup.repoid = repoid

    assert await setup.pending() == {"status_set": False, "reason": "no_valid_bot"}
    assert setup.gh.requests == []


async def test_a_revoked_token_is_no_valid_bot(setup: Setup) -> None:
    setup.gh.revoke(TOKEN)

    assert await setup.pending() == {"status_set": False, "contexts": [], "reason": "no_valid_bot"}
    assert await setup.error() == {"status_set": False, "contexts": [], "reason": "no_valid_bot"}
    assert setup.posts() == 0


async def test_a_rate_limit_is_retried_at_the_reset_time(setup: Setup) -> None:
    reset_at = (datetime.now(UTC) + timedelta(minutes=7)).replace(microsecond=0)
    setup.gh.rate_limit(reset_at=reset_at)

    with pytest.raises(ProviderRateLimited) as raised:
        await setup.pending()

    assert isinstance(raised.value, RetryLater) and raised.value.at == reset_at
    setup.gh.clear_rate_limit()
    assert (await setup.pending())["status_set"] is True


async def test_a_server_error_is_retried_and_nothing_is_posted_twice(setup: Setup) -> None:
    setup.gh.fail_next(502, path=f"/repos/{SLUG}/statuses/", method="POST")

    with pytest.raises(ProviderServerError):
        await setup.pending()
    result = await setup.pending()  # the pipeline's retry

    assert result["contexts"] == ["codecov/project", "codecov/patch"]
    assert await setup.pending() == {"status_set": False, "contexts": []}
    assert setup.posts() == 3  # the failed one and one per status


async def test_a_repo_gone_from_the_provider_is_a_clear_result(setup: Setup) -> None:
    del setup.gh.repos[SLUG]

    assert await setup.pending() == {"status_set": False, "contexts": [], "reason": "not_found_on_provider"}
    assert await setup.error() == {"status_set": False, "contexts": [], "reason": "not_found_on_provider"}


async def test_a_repo_missing_from_the_database_is_repo_not_found(setup: Setup) -> None:
    setup.repoid = 987654

    assert await setup.pending() == {"status_set": False, "reason": "repo_not_found"}
    assert await setup.error() == {"status_set": False, "reason": "repo_not_found"}
