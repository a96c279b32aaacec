"""Choosing a provider by service, and GitHub JSON to provider types (no I/O)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from stream_app.errors import PermanentError
from stream_app.providers import UnknownProvider, get_provider
from stream_app.providers import github_json as gh
from stream_app.providers.github import GitHub
from stream_app.providers.types import Token
from stream_app.settings import Settings

TOKEN = Token("ghp_secret", "owner", ownerid=1)


async def test_github_services_get_the_github_client_on_the_configured_root() -> None:
    settings = Settings(github_api_url="https://ghe.example.com/api/v3/")
    async with httpx.AsyncClient() as http:
        for service in ("github", "github_enterprise"):
            provider = get_provider(service, token=TOKEN, http=http, settings=settings)
            assert isinstance(provider, GitHub)
            assert provider.api.api_url == "https://ghe.example.com/api/v3"
            assert "ghp_secret" not in repr(provider)


async def test_an_unknown_service_is_a_permanent_error() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(UnknownProvider) as caught:
            get_provider("gitlab", token=TOKEN, http=http, settings=Settings())
    assert isinstance(caught.value, PermanentError) and caught.value.code == "unknown_provider"


def _pull(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": 4,
        "state": "closed",
        "title": "t",
        "user": {"id": 9, "login": "bob"},
        "base": {"ref": "main", "sha": "b" * 40},
        "head": {"ref": "f", "sha": "h" * 40},
        "merged_at": None,
        "merge_commit_sha": None,
        "updated_at": "2024-05-01T12:00:00Z",
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"state": "open"}, "open"),
        ({}, "closed"),
        ({"merged_at": "2024-05-01T12:00:00Z"}, "merged"),
        ({"merged": True}, "merged"),
    ],
)
def test_pull_state(fields: dict[str, Any], state: str) -> None:
    assert gh.pull_info(_pull(**fields)).state == state


def test_commit_without_a_github_user_keeps_the_git_author() -> None:
    data = {
        "sha": "c" * 40,
        "commit": {"message": "m", "author": {"name": "N", "email": "n@x", "date": "2024-05-01T12:00:00Z"}},
        "author": None,
        "parents": [{"sha": "p" * 40}],
    }
    info = gh.commit_info(data)
    assert (info.author.service_id, info.author.username, info.author.email) == (None, None, "n@x")
    assert info.parents == ("p" * 40,)
    assert info.timestamp is not None and info.timestamp.year == 2024


def test_repo_with_parent_and_permissions() -> None:
    owner = {"id": 1, "login": "acme"}
    parent = {"id": 2, "name": "up", "owner": {"id": 3, "login": "org"}, "private": False}
    data = {"id": 5, "name": "r", "owner": owner, "private": True, "fork": True, "parent": parent}
    info = gh.repo_info({**data, "permissions": {"admin": False, "push": True, "pull": True}})
    assert info.fork and info.parent is not None and info.parent.ref.slug == "org/up"
    assert info.can_push is True
    assert gh.repo_info(data).can_push is None


def test_file_without_a_patch_is_marked() -> None:
    diff = gh.file_diff({"filename": "img.png", "status": "added"})
    assert diff.patch_missing and diff.added == ()
