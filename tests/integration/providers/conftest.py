"""The fake GitHub's fixtures, and a small standard world for provider tests."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from stream_app.providers.github import GitHub
from stream_app.providers.types import RepoRef, Token
from tests.fakes.github import FakeGitHub
from tests.fakes.plugin import app_private_key, fake_github, github_app, provider_http, provider_settings  # noqa: F401

ALICE_TOKEN = "gho_alice_token"


@dataclass
class World:
    gh: FakeGitHub
    repo: RepoRef  # acme/widgets: private, main + feature branches, pull #1
    base_sha: str
    head_sha: str

    def client(self, http: httpx.AsyncClient, *, token: str = ALICE_TOKEN, per_page: int = 100) -> GitHub:
        return GitHub(token=Token(token, "owner", ownerid=1), http=http, api_url=self.gh.url, per_page=per_page)


@pytest.fixture
def world(fake_github: FakeGitHub) -> World:  # noqa: F811 - the imported fixture
    gh = fake_github
    gh.add_user("alice", token=ALICE_TOKEN, name="Alice A", email="alice@example.com")
    gh.add_user("bob", token="gho_bob_token")
    gh.add_org("acme", members=["alice"], name="Acme Inc", email="hello@acme.test")
    gh.add_repo("acme/widgets", private=True, language="python")
    base = gh.add_commit(
        "acme/widgets",
        branch="main",
        message="initial",
        author="alice",
        files={"src/app.py": b"a = 1\nb = 2\nc = 3\n", "README.md": b"hi\n", ".github/ci.yml": b"on: push\n"},
    )
    head = gh.add_commit(
        "acme/widgets",
        branch="feature",
        parents=[base.sha],
        message="change",
        files={"src/app.py": b"a = 1\nb = 20\nc = 3\nd = 4\n"},
    )
    gh.add_pull("acme/widgets", number=1, base="main", head="feature", author="alice", title="Change b")
    return World(gh, RepoRef("acme", "widgets"), base.sha, head.sha)
