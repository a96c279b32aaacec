"""Provider HTTP plumbing: the error mapping and Link-header paging, shared by REST providers.

Pure functions first (unit-tested alone), then `ApiClient`, which sends requests over the
worker's shared `httpx.AsyncClient` with a per-request timeout and a bearer token.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from stream_app.providers.errors import (
    ProviderClientError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderServerError,
    ProviderUnauthorized,
)
from stream_app.providers.types import Token

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# A 429 or secondary limit without a usable header: wait this long.
FALLBACK_RATE_LIMIT_WAIT = timedelta(seconds=60)
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
# A 403's message that means a (secondary) rate limit, not a missing permission.
_RATE_LIMIT_MESSAGE = re.compile(r"rate limit|abuse", re.IGNORECASE)


def url_segment(value: str) -> str:
    """`value` (a SHA, ref, id or name from a record, a row or a response) as exactly one URL
    path segment: '/' and every other reserved character percent-quoted. '.', '..' and '' would
    still move the request to another endpoint (httpx resolves dot segments), and no object on
    a provider is named so: ProviderNotFound, before any request."""
    if value in ("", ".", ".."):
        raise ProviderNotFound(f"{value!r} names no object on the provider")
    return quote(value, safe="")


def url_path(value: str) -> str:
    """A '/'-separated path (a file in a repo) as URL path segments, each one `url_segment`."""
    return "/".join(url_segment(part) for part in value.split("/"))


def next_link(link_header: str | None) -> str | None:
    """The `rel="next"` URL of an RFC 8288 Link header, or None on the last page."""
    if not link_header:
        return None
    for part in link_header.split(","):
        match = _NEXT.search(part)
        if match:
            return match.group(1).strip()
    return None


def rate_limit_reset(response: httpx.Response, now: datetime) -> datetime | None:
    """When a rate-limited response may be retried, or None when it is not a rate limit.

    A 429 is always a rate limit. A 403 is one when its headers say so (Retry-After, or no
    quota left) or when its JSON message does: GitHub's secondary rate limits ("You have
    exceeded a secondary rate limit ...", older "abuse detection mechanism") may come without
    Retry-After and with quota left. Without a usable header: `FALLBACK_RATE_LIMIT_WAIT`
    (GitHub: "wait at least one minute"; X-RateLimit-Reset is the primary window's reset then,
    not this limit's). Any other 403 is not a rate limit ("Resource not accessible by
    integration", "Must have admin rights"...)."""
    status = response.status_code
    if status not in (403, 429):
        return None
    headers = response.headers
    retry_after = headers.get("Retry-After")
    if retry_after and retry_after.isdigit():
        return now + timedelta(seconds=int(retry_after))
    if headers.get("X-RateLimit-Remaining") == "0":
        reset = headers.get("X-RateLimit-Reset", "")
        if reset.isdigit():
            return max(now, datetime.fromtimestamp(int(reset), UTC))
        return now + FALLBACK_RATE_LIMIT_WAIT
    if status == 429 or _RATE_LIMIT_MESSAGE.search(error_message(response)):
        return now + FALLBACK_RATE_LIMIT_WAIT
    return None


def error_message(response: httpx.Response) -> str:
    """The `message` of a JSON error body (GitHub's {"message": ..., "documentation_url": ...}),
    or "" when the body is not one (empty, not JSON, not read)."""
    try:
        body = response.json()
    except (ValueError, httpx.ResponseNotRead):  # JSON/Unicode decode errors are ValueErrors
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


def error_for(response: httpx.Response, what: str, now: datetime | None = None) -> ProviderError | None:
    """The provider error a response stands for, or None when it succeeded."""
    status = response.status_code
    if status < 400:
        return None
    reason = f"{what}: HTTP {status}"
    reset_at = rate_limit_reset(response, now or datetime.now(UTC))
    if reset_at is not None:
        return ProviderRateLimited(reason, reset_at, status)
    if status >= 500:
        return ProviderServerError(reason, status)
    if status in (401, 403):
        return ProviderUnauthorized(reason, status)
    if status in (404, 410):
        return ProviderNotFound(reason, status)
    return ProviderClientError(reason, status)


class ApiClient:
    """JSON over HTTP to one provider API root, authenticated with one token."""

    def __init__(
        self,
        *,
        api_url: str,
        token: Token,
        http: httpx.AsyncClient,
        accept: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._http = http
        self._accept = accept
        self._timeout = timeout

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        accept: str | None = None,
    ) -> httpx.Response:
        url = path_or_url if path_or_url.startswith(self.api_url + "/") else self.api_url + path_or_url
        what = f"{method} {httpx.URL(url).path}"
        headers = {"Authorization": f"Bearer {self._token.value}", "Accept": accept or self._accept}
        try:
            response = await self._http.request(
                method, url, params=params, json=json, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise ProviderServerError(f"{what}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise ProviderServerError(f"{what}: {type(exc).__name__}") from None
        error = error_for(response, what)
        if error is not None:
            raise error
        return response

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return (await self.request("GET", path, params=params)).json()

    async def pages(
        self, path: str, *, per_page: int, params: Mapping[str, str | int] | None = None, items_key: str | None = None
    ) -> AsyncIterator[list[Any]]:
        """Each page's items (the list itself, or the list under `items_key`)."""
        async for body in self.page_bodies(path, per_page=per_page, params=params):
            yield list(body[items_key] if items_key else body)

    async def page_bodies(
        self, path: str, *, per_page: int, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[Any]:
        """Each page's JSON body, following Link rel="next" (only within this API root)."""
        url: str | None = path
        query: Mapping[str, str | int] | None = {**(params or {}), "per_page": per_page}
        while url is not None:
            response = await self.request("GET", url, params=query)
            yield response.json()
            url = next_link(response.headers.get("Link"))
            if url is not None and not url.startswith(self.api_url + "/"):
                raise ProviderClientError(f"GET {path}: next page link leaves the API root")
            query = None  # the next link carries the query
