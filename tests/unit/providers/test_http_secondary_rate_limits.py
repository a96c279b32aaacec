"""GitHub's secondary rate limits: a 403 (or 429) that says so in its message, with quota left
and no Retry-After, is a rate limit; a 403 about permissions is not (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from stream_app.providers.errors import ProviderClientError, ProviderNotFound, ProviderRateLimited, ProviderUnauthorized
from stream_app.providers.http import FALLBACK_RATE_LIMIT_WAIT, error_for

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. "
    "Please retry your request again later. If you reach out to GitHub Support for help, please include "
    "the request ID ABCD:1234."
)
ABUSE = "You have triggered an abuse detection mechanism. Please wait a few minutes before you try again."
# What GitHub sends along: quota left, a primary-window reset 40 minutes away, no Retry-After.
QUOTA_LEFT = {
    "X-RateLimit-Limit": "5000",
    "X-RateLimit-Remaining": "4321",
    "X-RateLimit-Reset": str(int((NOW + timedelta(minutes=40)).timestamp())),
}


def _json(status: int, message: str, **headers: str) -> httpx.Response:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
    return httpx.Response(status, json=body, headers=QUOTA_LEFT | headers)


@pytest.mark.parametrize(
    "message",
    [
        SECONDARY,
        ABUSE,
        "API rate limit exceeded for installation ID 123.",
        "You have exceeded a secondary RATE LIMIT.",  # any case
        "Abuse detection: slow down",
    ],
    ids=["secondary", "abuse", "installation-quota", "any-case", "abuse-capitalised"],
)
@pytest.mark.parametrize("status", [403, 429])
def test_a_rate_limit_message_without_retry_after_waits_the_fallback(status: int, message: str) -> None:
    error = error_for(_json(status, message), "POST /repos/a/b/statuses/abc", NOW)

    assert isinstance(error, ProviderRateLimited)
    assert error.status == status
    # GitHub: "wait at least one minute"; X-RateLimit-Reset is the primary window's, not this limit's.
    assert error.reset_at == error.at == NOW + FALLBACK_RATE_LIMIT_WAIT == NOW + timedelta(seconds=60)


def test_retry_after_still_wins_over_the_fallback() -> None:
    error = error_for(_json(403, SECONDARY, **{"Retry-After": "17"}), "GET /user", NOW)
    assert isinstance(error, ProviderRateLimited) and error.reset_at == NOW + timedelta(seconds=17)


def test_no_quota_left_still_waits_for_the_reset() -> None:
    reset = NOW + timedelta(minutes=9)
    response = _json(403, "API rate limit exceeded", **{"X-RateLimit-Remaining": "0"})
    response.headers["X-RateLimit-Reset"] = str(int(reset.timestamp()))
    error = error_for(response, "GET /user", NOW)
    assert isinstance(error, ProviderRateLimited) and error.reset_at == reset


@pytest.mark.parametrize(
    "message",
    [
        "Resource not accessible by integration",
        "Must have admin rights to Repository.",
        "Must have push access to repository",
        "Although you appear to have the correct authorization credentials, the org has an IP allow list enabled.",
    ],
)
def test_a_403_about_permissions_is_still_unauthorized(message: str) -> None:
    error = error_for(_json(403, message), "GET /repos/a/b", NOW)
    assert type(error) is ProviderUnauthorized
    assert error.status == 403


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(403, content=b"<html>rate limit</html>", headers=QUOTA_LEFT),  # not JSON
        httpx.Response(403, content=b"\xff\xfe rate limit", headers=QUOTA_LEFT),  # not even text
        httpx.Response(403, json=["rate limit"], headers=QUOTA_LEFT),  # JSON, not an error object
        httpx.Response(403, json={"message": ["rate limit"]}, headers=QUOTA_LEFT),  # message not a string
        httpx.Response(403, headers=QUOTA_LEFT),  # no body
    ],
)
def test_a_403_without_a_json_rate_limit_message_is_unauthorized(response: httpx.Response) -> None:
    assert type(error_for(response, "GET /user", NOW)) is ProviderUnauthorized


def test_the_message_only_matters_for_403_and_429() -> None:
    assert type(error_for(_json(401, "Bad credentials; rate limit"), "GET /user", NOW)) is ProviderUnauthorized
    assert type(error_for(_json(404, "rate limit"), "GET /x", NOW)) is ProviderNotFound
    assert type(error_for(_json(422, "abuse"), "POST /x", NOW)) is ProviderClientError
    assert error_for(_json(200, "rate limit"), "GET /x", NOW) is None
