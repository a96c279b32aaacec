"""What can go wrong talking to a git provider, sorted the way the pipeline needs it.

Transient failures are `RetryLater` (the pipeline runs the record again later); a 4xx is a
`PermanentError` unless the task catches it. Tasks usually catch `ProviderNotFound` and
`ProviderUnauthorized` themselves and return a clear result. Messages name the request
(method and path), never a token.
"""

from __future__ import annotations

from datetime import datetime

from stream_app.errors import PermanentError, RetryLater


class ProviderError(Exception):
    """Any failure of a provider call. `status` is the HTTP status, None without a response."""

    status: int | None = None


class ProviderRateLimited(ProviderError, RetryLater):
    """A rate limit (the token's quota used up, or a secondary/abuse limit): try again at `reset_at`."""

    def __init__(self, reason: str, reset_at: datetime, status: int | None = None) -> None:
        RetryLater.__init__(self, f"provider_rate_limited: {reason}", at=reset_at)
        self.reset_at = reset_at
        self.status = status


class ProviderServerError(ProviderError, RetryLater):
    """5xx, timeout or connection failure: transient, the pipeline backs off."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        RetryLater.__init__(self, f"provider_server_error: {reason}", at=None)
        self.status = status


class ProviderClientError(ProviderError, PermanentError):
    """A 4xx that retrying will not fix."""

    code = "provider_client_error"

    def __init__(self, reason: str, status: int | None = None) -> None:
        PermanentError.__init__(self, self.code, reason)
        self.status = status


class ProviderNotFound(ProviderClientError):
    """404 (or 410): the object is gone, or the token may not see it (GitHub hides private repos)."""

    code = "provider_not_found"


class ProviderUnauthorized(ProviderClientError):
    """401, or a 403 that is not a rate limit (by its headers or its message): the token is
    invalid or lacks the permission."""

    code = "provider_unauthorized"
