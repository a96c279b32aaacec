"""Shared pieces of the fake's HTTP layer: its app key, API errors, and GitHub-style paging."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub

FAKE: web.AppKey[FakeGitHub] = web.AppKey("fake_github")


class ApiError(Exception):
    """Answered as GitHub's error JSON: {"message": ..., "documentation_url": ...}."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def fake_of(request: web.Request) -> FakeGitHub:
    return request.app[FAKE]


def paginate(request: web.Request, items: list[Any], *, wrap: Any = None) -> web.Response:
    """One page of `items` (`per_page` default 30, max 100; `page` from 1) with GitHub's Link header."""
    per_page = min(int(request.query.get("per_page", "30")), 100)
    page = int(request.query.get("page", "1"))
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]

    def link(number: int, rel: str) -> str:
        return f'<{request.url.update_query(page=number)}>; rel="{rel}"'

    links = []
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    headers = {"Link": ", ".join(links)} if links else {}
    return web.json_response(wrap(chunk) if wrap else chunk, headers=headers)
