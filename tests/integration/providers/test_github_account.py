"""The GitHub client's account-level calls against the fake GitHub over real sockets."""

from __future__ import annotations

import httpx
import pytest

from stream_app.providers.github import GitHub
from stream_app.providers.github_app import GithubApp
from stream_app.providers.types import OwnerInfo, Token
from tests.fakes.github import FakeGitHub
from tests.integration.providers.conftest import ALICE_TOKEN, World


async def test_authenticated_user(world: World, provider_http: httpx.AsyncClient) -> None:
    user = await world.client(provider_http).get_authenticated_user()

    assert user == OwnerInfo(
        service_id=str(world.gh.accounts["alice"].id),
        username="alice",
        name="Alice A",
        email="alice@example.com",
        avatar_url="https://avatars.example/alice",
        is_org=False,
    )
    [request] = world.gh.requests
    assert (request.method, request.path, request.token) == ("GET", "/user", ALICE_TOKEN)


async def test_teams_come_with_each_orgs_profile(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.add_org("other", members=["alice"], name="Other Org")
    world.gh.add_org("notmine", members=["bob"])

    teams = await world.client(provider_http).list_teams()

    assert [(t.username, t.name, t.email, t.is_org) for t in teams] == [
        ("acme", "Acme Inc", "hello@acme.test", True),
        ("other", "Other Org", None, True),
    ]
    assert world.gh.count("GET", "/orgs/") == 2


async def test_repos_are_yielded_page_by_page_across_many_pages(world: World, provider_http: httpx.AsyncClient) -> None:
    for n in range(6):
        world.gh.add_repo(f"alice/r{n}", private=n % 2 == 0)
    world.gh.add_repo("bob/hidden", private=True)

    pages = [page async for page in world.client(provider_http, per_page=2).list_repos()]

    assert [len(p) for p in pages] == [2, 2, 2, 1]
    names = [r.ref.slug for page in pages for r in page]
    assert names == ["acme/widgets", "alice/r0", "alice/r1", "alice/r2", "alice/r3", "alice/r4", "alice/r5"]
    assert world.gh.count("GET", "/user/repos") == 4
    widgets = pages[0][0]
    assert (widgets.private, widgets.language, widgets.default_branch, widgets.can_push) == (
        True,
        "python",
        "main",
        True,
    )
    assert widgets.owner.username == "acme"


async def test_a_consumer_can_stop_after_one_page(world: World, provider_http: httpx.AsyncClient) -> None:
    for n in range(5):
        world.gh.add_repo(f"alice/r{n}")
    async for _page in world.client(provider_http, per_page=2).list_repos():
        break
    assert world.gh.count("GET", "/user/repos") == 1


async def test_installation_repos_with_an_installation_token(
    world: World, provider_http: httpx.AsyncClient, github_app: GithubApp
) -> None:
    world.gh.add_repo("acme/gadgets")
    world.gh.add_repo("acme/other")
    world.gh.add_installation(7, app_id=42, account="acme", repos=["acme/widgets", "acme/gadgets"])
    token = await github_app.installation_token(7, http=provider_http, api_url=world.gh.url)

    client = GitHub(token=token, http=provider_http, api_url=world.gh.url, per_page=1)
    pages = [page async for page in client.list_installation_repos()]

    assert [[r.name for r in page] for page in pages] == [["gadgets"], ["widgets"]]


async def test_github_enterprise_api_root(provider_http: httpx.AsyncClient) -> None:
    async with FakeGitHub(prefix="/api/v3") as ghe:
        ghe.add_user("carol", token="t")
        client = GitHub(token=Token("t", "owner"), http=provider_http, api_url=ghe.url)
        assert ghe.url.endswith("/api/v3")
        assert (await client.get_authenticated_user()).username == "carol"
        assert ghe.requests[0].path == "/user"


@pytest.mark.parametrize("per_page", [1, 3, 100])
async def test_teams_page_size_does_not_change_the_answer(
    world: World, provider_http: httpx.AsyncClient, per_page: int
) -> None:
    for n in range(4):
        world.gh.add_org(f"org{n}", members=["alice"])
    teams = await world.client(provider_http, per_page=per_page).list_teams()
    assert [t.username for t in teams] == ["acme", "org0", "org1", "org2", "org3"]
