"""Provider responses to the error taxonomy, and Link-header paging (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from stream_app.errors import PermanentError, RetryLater
from stream_app.providers.errors import (
    ProviderClientError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderServerError,
    ProviderUnauthorized,
)
from stream_app.providers.http import error_for, next_link

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_success_is_no_error(status: int) -> None:
    assert error_for(_response(status), "GET /x", NOW) is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, ProviderUnauthorized),
        (403, ProviderUnauthorized),
        (404, ProviderNotFound),
        (410, ProviderNotFound),
        (400, ProviderClientError),
        (409, ProviderClientError),
        (422, ProviderClientError),
        (500, ProviderServerError),
        (502, ProviderServerError),
        (503, ProviderServerError),
    ],
)
def test_status_maps_to_its_error(status: int, kind: type[ProviderError]) -> None:
    error = error_for(_response(status), "GET /repos/a/b", NOW)
    assert type(error) is kind
    assert error.status == status
    assert "GET /repos/a/b" in str(error)


def test_403_with_no_remaining_quota_is_a_rate_limit_until_the_reset() -> None:
    reset = NOW + timedelta(minutes=7)
    response = _response(403, X_RateLimit_Remaining="0", X_RateLimit_Reset=str(int(reset.timestamp())))

    error = error_for(response, "GET /user", NOW)

    assert isinstance(error, ProviderRateLimited)
    assert error.reset_at == reset
    assert error.at == reset  # the pipeline's RetryLater time


def test_429_with_retry_after_is_a_rate_limit_that_many_seconds_away() -> None:
    error = error_for(_response(429, Retry_After="30"), "GET /user", NOW)
    assert isinstance(error, ProviderRateLimited)
    assert error.reset_at == NOW + timedelta(seconds=30)


def test_secondary_rate_limit_403_with_retry_after_is_a_rate_limit() -> None:
    error = error_for(_response(403, Retry_After="5", X_RateLimit_Remaining="100"), "POST /x", NOW)
    assert isinstance(error, ProviderRateLimited)
    assert error.reset_at == NOW + timedelta(seconds=5)


def test_bare_429_waits_a_minute() -> None:
    error = error_for(_response(429), "GET /user", NOW)
    assert isinstance(error, ProviderRateLimited)
    assert error.reset_at == NOW + timedelta(seconds=60)


def test_a_reset_in_the_past_means_now() -> None:
    past = NOW - timedelta(hours=1)
    response = _response(403, X_RateLimit_Remaining="0", X_RateLimit_Reset=str(int(past.timestamp())))
    error = error_for(response, "GET /user", NOW)
    assert isinstance(error, ProviderRateLimited) and error.reset_at == NOW


def test_transient_errors_are_retry_later_and_client_errors_are_permanent() -> None:
    assert issubclass(ProviderRateLimited, RetryLater)
    assert issubclass(ProviderServerError, RetryLater)
    assert ProviderServerError("x").at is None  # the pipeline backs off by itself
    for kind, code in [
        (ProviderClientError, "provider_client_error"),
        (ProviderNotFound, "provider_not_found"),
        (ProviderUnauthorized, "provider_unauthorized"),
    ]:
        error = kind("GET /x: HTTP 4xx")
        assert isinstance(error, PermanentError)
        assert error.code == code


GITHUB_LINK = (
    '<https://api.github.com/user/repos?per_page=2&page=2>; rel="next", '
    '<https://api.github.com/user/repos?per_page=2&page=5>; rel="last"'
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (GITHUB_LINK, "https://api.github.com/user/repos?per_page=2&page=2"),
        ('<https://h/x?page=1>; rel="prev", <https://h/x?page=3>; rel="next"', "https://h/x?page=3"),
        ("<https://h/x?page=4>; rel=next", "https://h/x?page=4"),
        ('<https://h/x?page=1>; rel="first", <https://h/x?page=2>; rel="prev"', None),
        ("", None),
        (None, None),
    ],
)
def test_next_link(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected


async def test_paging_refuses_a_next_link_to_another_host() -> None:
    """The token must not follow a Link header off the API root."""
    from stream_app.providers.http import ApiClient
    from stream_app.providers.types import Token

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[1], headers={"Link": '<https://evil.example/x?page=2>; rel="next"'})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        api = ApiClient(api_url="https://api.github.com", token=Token("t", "owner"), http=http, accept="*/*")
        with pytest.raises(ProviderClientError, match="leaves the API root"):
            async for _ in api.pages("/user/repos", per_page=1):
                pass
    assert seen == ["https://api.github.com/user/repos?per_page=1"]
