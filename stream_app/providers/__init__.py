"""Git provider clients: one interface (`Provider`), GitHub first, chosen by `owners.service`."""

from stream_app.providers.base import Provider
from stream_app.providers.errors import (
    ProviderClientError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderServerError,
    ProviderUnauthorized,
)
from stream_app.providers.factory import UnknownProvider, get_provider
from stream_app.providers.types import RepoRef, Token

__all__ = [
    "Provider",
    "ProviderClientError",
    "ProviderError",
    "ProviderNotFound",
    "ProviderRateLimited",
    "ProviderServerError",
    "ProviderUnauthorized",
    "RepoRef",
    "Token",
    "UnknownProvider",
    "get_provider",
]
