"""Page cursors: what a record may name, and GitHub's one-page listing (no I/O: httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from stream_app.errors import PermanentError
from stream_app.providers.github import GitHub
from stream_app.providers.paging import InvalidCursor, cursor_for, request_path
from stream_app.providers.types import Token

GHE = "https://ghe.example/api/v3"


@pytest.mark.parametrize(
    "cursor",
    [
        "/user/repos?per_page=100&page=2",
        "/user/repos?page=3",
        "/user/repos",
    ],
)
def test_a_cursor_on_the_listing_path_is_requested_as_it_is(cursor: str) -> None:
    assert request_path(cursor, "/user/repos") == cursor


@pytest.mark.parametrize(
    "cursor",
    [
        "https://evil.example/user/repos?page=2",  # another host
        "http://ghe.example/api/v3/user/repos?page=2",  # absolute, even on our own host
        "//evil.example/user/repos?page=2",  # scheme-relative: a host after all
        "/user/emails?page=2",  # another endpoint of the API
        "/user/repos/../emails",
        "/user/repos%2F..%2Femails",
        "user/repos?page=2",  # not rooted
        "/user/repos?page=2#x",
        "/user/repos?page=2 HTTP/1.1",
        "\\\\evil.example/user/repos",
        "/user/repos?" + "x" * 2000,
        "/user/repos?page=2\x00",  # control characters httpx would refuse later
        "/user/repos?page=2\x7f",
        "/user/repos?page=\u0662",  # a non-ASCII digit
        "/user/repos?page=2&visibility=public",  # narrows the listing
        "/user/repos?affiliation=owner",
        "/user/repos?page=2&page=3",
        "/user/repos?page=two",
        "/user/repos?after=Y3Vyc29yOjEwMA%3D%3D",  # keyset paging: not what GitHub's repo listings use
    ],
)
def test_a_cursor_elsewhere_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        request_path(cursor, "/user/repos")

    assert isinstance(caught.value, PermanentError) and caught.value.code == "provider_invalid_cursor"


def test_a_next_link_becomes_a_cursor_relative_to_the_api_root() -> None:
    link = f"{GHE}/user/repos?per_page=100&page=2"

    assert cursor_for(link, api_url=GHE, path="/user/repos") == "/user/repos?per_page=100&page=2"
    assert cursor_for(link, api_url=GHE + "/", path="/user/repos") == "/user/repos?per_page=100&page=2"
    assert cursor_for(None, api_url=GHE, path="/user/repos") is None


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/api/v3/user/repos?page=2",
        "https://ghe.example.evil.example/api/v3/user/repos?page=2",
        "https://ghe.example/api/v3x/user/repos?page=2",
        "https://ghe.example/user/repos?page=2",  # the host, but not the API root
        f"{GHE}/user/emails?page=2",
    ],
)
def test_a_next_link_off_the_listing_is_refused(link: str) -> None:
    with pytest.raises(InvalidCursor):
        cursor_for(link, api_url=GHE, path="/user/repos")


def _repo(n: int) -> dict[str, Any]:
    owner = {"id": 9, "login": "carol", "type": "User"}
    return {"id": n, "name": f"r{n}", "private": False, "owner": owner, "fork": False, "default_branch": "main"}


def _github(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[GitHub, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return GitHub(token=Token("t", "owner"), http=http, api_url=GHE, per_page=2), http


async def test_github_lists_one_page_from_a_cursor_on_the_enterprise_root() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        link = f'<{GHE}/installation/repositories?per_page=2&page=3>; rel="next"'
        body = {"total_count": 5, "repositories": [_repo(3), _repo(4)]}
        return httpx.Response(200, json=body, headers={"Link": link})

    client, http = _github(answer)
    async with http:
        page = await client.list_installation_repos_page("/installation/repositories?per_page=2&page=2")

    assert seen == [f"{GHE}/installation/repositories?per_page=2&page=2"]
    assert [r.name for r in page.repos] == ["r3", "r4"]
    assert page.next_cursor == "/installation/repositories?per_page=2&page=3"


async def test_github_refuses_a_foreign_cursor_before_any_request() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    client, http = _github(answer)
    async with http:
        with pytest.raises(InvalidCursor):
            await client.list_repos_page("https://evil.example/user/repos?page=2")
        with pytest.raises(InvalidCursor):  # a user-repos cursor is not an installation cursor
            await client.list_installation_repos_page("/user/repos?page=2")

    assert seen == []


async def test_github_first_page_and_last_page() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[_repo(1)])  # no Link header: the last page

    client, http = _github(answer)
    async with http:
        page = await client.list_repos_page()

    assert [r.service_id for r in page.repos] == ["1"] and page.next_cursor is None


async def test_the_full_listing_follows_the_same_cursors() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        link = {"Link": f'<{GHE}/user/repos?per_page=2&page={number + 1}>; rel="next"'} if number < 3 else {}
        return httpx.Response(200, json=[_repo(number)], headers=link)

    client, http = _github(answer)
    async with http:
        pages = [page async for page in client.list_repos()]

    assert [[r.name for r in page] for page in pages] == [["r1"], ["r2"], ["r3"]]
