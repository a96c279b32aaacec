"""Finding and reading codecov.yml at a ref through the GitHub client and the fake GitHub."""

from __future__ import annotations

import httpx
import pytest

from stream_app.config import fetch_commit_yaml, resolve_config
from stream_app.providers.errors import ProviderServerError
from tests.integration.providers.conftest import World


@pytest.mark.parametrize(
    "path", ["codecov.yml", ".codecov.yml", "codecov.yaml", "dev/codecov.yml", ".github/.codecov.yml"]
)
async def test_the_config_is_found_where_codecov_looks(
    world: World, provider_http: httpx.AsyncClient, path: str
) -> None:
    commit = world.gh.add_commit("acme/widgets", branch="main", files={path: b"comment:\n  behavior: new\n"})

    found = await fetch_commit_yaml(world.client(provider_http), world.repo, ref=commit.sha)

    assert (found.path, found.data, found.error) == (path, {"comment": {"behavior": "new"}}, None)


async def test_the_root_wins_over_dot_github(world: World, provider_http: httpx.AsyncClient) -> None:
    files = {".github/codecov.yml": b"comment: false\n", "codecov.yml": b"ignore: [docs]\n"}
    commit = world.gh.add_commit("acme/widgets", branch="main", files=files)

    found = await fetch_commit_yaml(world.client(provider_http), world.repo, ref=commit.sha)

    assert (found.path, found.data) == ("codecov.yml", {"ignore": ["docs"]})


async def test_no_config_means_defaults_in_two_requests(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.requests.clear()

    found = await fetch_commit_yaml(world.client(provider_http), world.repo, ref="main")

    assert (found.path, found.data, found.error) == (None, None, None)
    assert world.gh.count("GET") == 2  # the root, then .github/ (there is no dev/)


async def test_a_broken_config_is_reported_not_raised(world: World, provider_http: httpx.AsyncClient) -> None:
    commit = world.gh.add_commit("acme/widgets", branch="main", files={"codecov.yml": b"coverage: [oops\n"})

    found = await fetch_commit_yaml(world.client(provider_http), world.repo, ref=commit.sha)
    resolved = resolve_config(repo_yaml={"ignore": ["x"]}, commit_yaml=found.data)

    assert found.path == "codecov.yml" and found.data is None
    assert found.error is not None and found.error.source == "commit:codecov.yml"
    assert resolved.config.ignore == ["x"]


async def test_an_empty_repo_has_no_config(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.add_repo("acme/empty")

    found = await fetch_commit_yaml(world.client(provider_http), world.repo.__class__("acme", "empty"), ref="main")

    assert found.path is None


async def test_a_provider_outage_propagates_for_a_retry(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.fail_next(502)
    with pytest.raises(ProviderServerError):
        await fetch_commit_yaml(world.client(provider_http), world.repo, ref="main")
