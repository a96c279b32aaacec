"""Commit statuses, pull-request comments and webhooks against the fake GitHub."""

from __future__ import annotations

import httpx
import pytest

from stream_app.providers.errors import ProviderClientError, ProviderNotFound, ProviderUnauthorized
from stream_app.providers.types import HookInfo
from tests.integration.providers.conftest import World


async def test_set_a_status_then_read_it_combined_and_listed(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http)

    posted = await client.set_commit_status(
        world.repo,
        world.head_sha,
        state="pending",
        context="codecov/project",
        description="Collecting reports",
        target_url="https://codecov.example/x",
    )
    await client.set_commit_status(
        world.repo, world.head_sha, state="success", context="codecov/project", description="80% (+1%)"
    )
    await client.set_commit_status(world.repo, world.head_sha, state="failure", context="ci/tests", description="red")

    assert (posted.state, posted.context, posted.target_url) == (
        "pending",
        "codecov/project",
        "https://codecov.example/x",
    )
    combined = await client.get_combined_status(world.repo, world.head_sha)
    assert combined.state == "failure"
    assert {(s.context, s.state) for s in combined.statuses} == {
        ("codecov/project", "success"),
        ("ci/tests", "failure"),
    }
    listed = await client.list_statuses(world.repo, world.head_sha)
    assert [s.state for s in listed] == ["failure", "success", "pending"]  # newest first
    body = world.gh.requests[0].body
    assert body == {
        "state": "pending",
        "context": "codecov/project",
        "description": "Collecting reports",
        "target_url": "https://codecov.example/x",
    }
    assert world.gh.count("POST", f"/repos/acme/widgets/statuses/{world.head_sha}") == 3


async def test_combined_status_collects_every_page(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http, per_page=2)
    for n in range(5):
        await client.set_commit_status(world.repo, world.base_sha, state="success", context=f"ci/{n}", description="ok")

    combined = await client.get_combined_status(world.repo, world.base_sha)

    assert combined.state == "success"
    assert len(combined.statuses) == 5


async def test_no_statuses_is_pending(world: World, provider_http: httpx.AsyncClient) -> None:
    combined = await world.client(provider_http).get_combined_status(world.repo, world.base_sha)
    assert (combined.state, combined.statuses) == ("pending", ())


async def test_a_long_description_is_cut_to_githubs_limit(world: World, provider_http: httpx.AsyncClient) -> None:
    status = await world.client(provider_http).set_commit_status(
        world.repo, world.head_sha, state="error", context="codecov/patch", description="x" * 500
    )
    assert status.description == "x" * 140


async def test_status_on_an_unknown_sha_is_a_client_error(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderClientError) as caught:
        await world.client(provider_http).set_commit_status(
            world.repo, "e" * 40, state="success", context="codecov/project", description="ok"
        )
    assert caught.value.status == 422 and caught.value.code == "provider_client_error"


async def test_writing_without_push_access_is_unauthorized(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.add_repo("acme/public")
    world.gh.add_commit("acme/public", branch="main")
    sha = world.gh.repos["acme/public"].branches["main"]
    bob = world.client(provider_http, token="gho_bob_token")
    public = world.repo.__class__("acme", "public")

    assert (await bob.get_repo(public)).can_push is False
    with pytest.raises(ProviderUnauthorized):
        await bob.set_commit_status(public, sha, state="success", context="codecov/project", description="ok")


async def test_post_edit_delete_a_comment(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http)

    posted = await client.post_comment(world.repo, 1, "## Coverage report\n80%")
    edited = await client.edit_comment(world.repo, posted.id, "## Coverage report\n81%")
    deleted = await client.delete_comment(world.repo, posted.id)
    deleted_again = await client.delete_comment(world.repo, posted.id)

    assert posted.author is not None and posted.author.username == "alice"
    assert (edited.id, edited.body) == (posted.id, "## Coverage report\n81%")
    assert (deleted, deleted_again) == (True, False)
    assert world.gh.comments == {}


async def test_editing_a_vanished_comment_is_not_found(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotFound):
        await world.client(provider_http).edit_comment(world.repo, "123456", "x")


async def test_comment_on_a_missing_pull_is_not_found(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotFound):
        await world.client(provider_http).post_comment(world.repo, 77, "x")


async def test_create_list_get_delete_a_webhook(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http)

    hook = await client.create_hook(
        world.repo, url="https://codecov.example/webhooks/github", events=["push", "pull_request"], secret="s3cret"
    )
    listed = await client.list_hooks(world.repo)
    fetched = await client.get_hook(world.repo, hook.id)
    removed = await client.delete_hook(world.repo, hook.id)

    assert hook == HookInfo(hook.id, "https://codecov.example/webhooks/github", ("push", "pull_request"), True)
    assert listed == [hook] and fetched == hook
    assert removed is True
    assert await client.get_hook(world.repo, hook.id) is None
    assert await client.delete_hook(world.repo, hook.id) is False  # already gone counts as removed
    assert world.gh.requests[0].body["config"]["secret"] == "s3cret"
