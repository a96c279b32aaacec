"""A SHA, ref or id from a record or a row stays one URL segment: the request stays on its endpoint.

httpx resolves `..` segments, so an unquoted `../../../../user` in a commit id would send the
repo's token to `GET /user` (or any other endpoint on the API root).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from stream_app.providers.errors import ProviderClientError, ProviderNotFound
from stream_app.providers.github import GitHub
from tests.integration.providers.conftest import World

CLIMB = "../../../../user"
Call = Callable[[GitHub, World, str], Awaitable[Any]]

CALLS: dict[str, tuple[str, Call]] = {
    "get_commit": ("GET /repos/acme/widgets/commits/", lambda c, w, v: c.get_commit(w.repo, v)),
    "commit_pulls": ("GET /repos/acme/widgets/commits/", lambda c, w, v: c.find_pulls_for_commit(w.repo, v)),
    "combined_status": ("GET /repos/acme/widgets/commits/", lambda c, w, v: c.get_combined_status(w.repo, v)),
    "list_statuses": ("GET /repos/acme/widgets/commits/", lambda c, w, v: c.list_statuses(w.repo, v)),
    "set_status": (
        "POST /repos/acme/widgets/statuses/",
        lambda c, w, v: c.set_commit_status(w.repo, v, state="success", context="codecov/project", description="x"),
    ),
    "compare": ("GET /repos/acme/widgets/compare/", lambda c, w, v: c.compare(w.repo, w.base_sha, v)),
    "list_files": ("GET /repos/acme/widgets/git/trees/", lambda c, w, v: c.list_files(w.repo, ref=v)),
    "get_hook": ("GET /repos/acme/widgets/hooks/", lambda c, w, v: c.get_hook(w.repo, v)),
    "delete_hook": ("DELETE /repos/acme/widgets/hooks/", lambda c, w, v: c.delete_hook(w.repo, v)),
    "edit_comment": ("PATCH /repos/acme/widgets/issues/comments/", lambda c, w, v: c.edit_comment(w.repo, v, "x")),
    "delete_comment": ("DELETE /repos/acme/widgets/issues/comments/", lambda c, w, v: c.delete_comment(w.repo, v)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_a_climbing_value_stays_on_its_endpoint(
    world: World, provider_http: httpx.AsyncClient, name: str
) -> None:
    # Given a provider call whose SHA, ref or id climbs towards /user
    endpoint, call = CALLS[name]
    method, prefix = endpoint.split(" ")

    # When it is made (the provider refuses such a name: any 4xx, or nothing found)
    with contextlib.suppress(ProviderClientError):
        await call(world.client(provider_http), world, CLIMB)

    # Then every request went to the call's own endpoint, never to /user
    assert world.gh.requests, "the call made no request"
    assert [(r.method, r.path.startswith(prefix)) for r in world.gh.requests] == [(method, True)] * len(
        world.gh.requests
    )
    assert world.gh.count(None, "/user") == 0


@pytest.mark.parametrize("value", ["..", "."])
@pytest.mark.parametrize("name", sorted(CALLS))
async def test_a_dot_segment_names_nothing_and_sends_no_request(
    world: World, provider_http: httpx.AsyncClient, name: str, value: str
) -> None:
    _, call = CALLS[name]

    try:
        result = await call(world.client(provider_http), world, value)
    except ProviderNotFound:
        result = "not found"

    assert result in ("not found", None, False)  # get_hook: None, delete_*: already gone
    assert world.gh.requests == []


async def test_a_repo_file_path_cannot_climb_out_of_contents(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http)

    assert await client.get_file(world.repo, "../../../../user", ref=world.head_sha) is None
    with pytest.raises(ProviderNotFound):
        await client.list_directory(world.repo, "src/../../../../../user", ref=world.head_sha)

    assert world.gh.requests == []
    assert await client.get_file(world.repo, "src/app.py", ref=world.head_sha) == b"a = 1\nb = 20\nc = 3\nd = 4\n"
