"""`get_provider`: the provider implementation for an owner's `service`, keyed by name.

A new provider (GitLab, Bitbucket) adds one builder here; tasks do not change.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from stream_app.errors import PermanentError
from stream_app.providers.base import Provider
from stream_app.providers.github import GitHub
from stream_app.providers.types import Token
from stream_app.settings import Settings

Builder = Callable[[Token, httpx.AsyncClient, Settings], Provider]


def _github(token: Token, http: httpx.AsyncClient, settings: Settings) -> Provider:
    return GitHub(token=token, http=http, api_url=settings.github_api_url)


BUILDERS: dict[str, Builder] = {"github": _github, "github_enterprise": _github}


class UnknownProvider(PermanentError):
    def __init__(self, service: str) -> None:
        super().__init__("unknown_provider", f"no provider implementation for service {service!r}")


def get_provider(service: str, *, token: Token, http: httpx.AsyncClient, settings: Settings) -> Provider:
    """The provider client for `owners.service`, authenticated with `token`, over the shared client."""
    builder = BUILDERS.get(service)
    if builder is None:
        raise UnknownProvider(service)
    return builder(token, http, settings)
