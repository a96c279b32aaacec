"""A small stateful GitHub REST API over real HTTP (aiohttp on 127.0.0.1, a random port).

    async with FakeGitHub() as gh:            # or the `fake_github` fixture (tests/fakes/plugin.py)
        gh.add_user("alice", token="tok-alice")
        ... GitHub(token=..., http=client, api_url=gh.url) ...
        assert gh.count("POST", "/repos/acme/widgets/statuses/") == 1

Switches: `rate_limit(...)`, `fail_next(...)`, `latency`; `requests` logs every call
(method, path without the prefix, query, bearer token, JSON body). `prefix="/api/v3"` serves
it the way GitHub Enterprise does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes import github_auth, github_repo_routes, github_routes
from tests.fakes.github_http import FAKE, ApiError
from tests.fakes.github_state import GitHubState


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    token: str | None
    body: Any = None


@dataclass
class _Failure:
    status: int
    times: int
    path: str | None
    method: str | None
    query: dict[str, str] | None = None

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        wanted = self.query or {}
        return (
            self.times > 0
            and path.startswith(self.path or "")
            and method == (self.method or method)
            and all(query.get(k) == v for k, v in wanted.items())
        )


@dataclass
class _RateLimit:
    reset_at: datetime
    status: int = 403
    retry_after: int | None = None
    times: int | None = None


@dataclass
class _Switches:
    failures: list[_Failure] = field(default_factory=list)
    rate_limit: _RateLimit | None = None


class FakeGitHub(GitHubState):
    def __init__(self, *, prefix: str = "") -> None:
        super().__init__()
        self.prefix = prefix.rstrip("/")
        self.latency = 0.0
        self.requests: list[LoggedRequest] = []
        self._switches = _Switches()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # Lifecycle
    async def __aenter__(self) -> FakeGitHub:
        app = web.Application(middlewares=[self._middleware])
        app[FAKE] = self
        github_routes.register(app.router, self.prefix)
        github_repo_routes.register(app.router, self.prefix)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}{self.prefix}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # Switches
    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        path: str | None = None,
        method: str | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        """The next `times` requests (whose path starts with `path` and whose query has `query`,
        if given) answer `status`."""
        self._switches.failures.append(_Failure(status, times, path, method, query))

    def rate_limit(
        self, *, reset_at: datetime, status: int = 403, retry_after: int | None = None, times: int | None = None
    ) -> None:
        """Answer every request (or the next `times`) as rate limited until `clear_rate_limit()`."""
        self._switches.rate_limit = _RateLimit(reset_at, status, retry_after, times)

    def clear_rate_limit(self) -> None:
        self._switches.rate_limit = None

    # Request log
    def count(self, method: str | None = None, path: str = "") -> int:
        """Requests with this method (any if None) whose path starts with `path`."""
        return sum(1 for r in self.requests if (method is None or r.method == method) and r.path.startswith(path))

    # Serving
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path[len(self.prefix) :]
        token = github_auth.bearer(request.headers.get("Authorization"))
        try:
            body = await request.json() if request.body_exists else None
        except ValueError:
            body = None
        self.requests.append(LoggedRequest(request.method, path, dict(request.query), token, body))
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            self._check_switches(request.method, path, dict(request.query))
            request[github_auth.PRINCIPAL] = github_auth.authenticate(self, token)
            response: web.StreamResponse = await handler(request)
        except ApiError as exc:
            response = web.json_response(
                {"message": exc.message, "documentation_url": "https://docs.github.com/rest"},
                status=exc.status,
                headers=exc.headers,
            )
        response.headers.setdefault("X-RateLimit-Limit", "5000")
        response.headers.setdefault("X-RateLimit-Remaining", "4999")
        return response

    def _check_switches(self, method: str, path: str, query: dict[str, str]) -> None:
        for failure in self._switches.failures:
            if failure.matches(method, path, query):
                failure.times -= 1
                raise ApiError(failure.status, "Server Error" if failure.status >= 500 else "Failure")
        limit = self._switches.rate_limit
        if limit is None or limit.times == 0:
            return
        if limit.times is not None:
            limit.times -= 1
        reset = str(int(limit.reset_at.timestamp()))
        headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Reset": reset, "X-RateLimit-Used": "5000"}
        if limit.retry_after is not None:
            headers |= {"Retry-After": str(limit.retry_after), "X-RateLimit-Remaining": "4000"}
            raise ApiError(limit.status, "You have exceeded a secondary rate limit.", headers)
        headers["X-RateLimit-Remaining"] = "0"
        raise ApiError(limit.status, "API rate limit exceeded.", headers)
