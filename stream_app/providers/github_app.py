"""The GitHub App identity: its RS256 JWT and installation tokens, cached in memory per process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_app.errors import PermanentError
from stream_app.providers.github import ACCEPT
from stream_app.providers.github_json import timestamp
from stream_app.providers.http import ApiClient
from stream_app.providers.types import Token

JWT_LIFETIME = timedelta(minutes=10)  # GitHub's maximum
CLOCK_DRIFT = timedelta(seconds=60)  # issued a minute in the past, as GitHub advises


class GithubAppSettings(BaseSettings):
    """STREAM_APP_GITHUB_APP_* variables. The key is PEM text or a path to a PEM file."""

    model_config = SettingsConfigDict(env_prefix="STREAM_APP_GITHUB_APP_", frozen=True)

    app_id: int | None = None
    private_key: SecretStr | None = None
    private_key_path: Path | None = None
    token_refresh_margin_seconds: int = Field(default=300, ge=0, description="renew this long before expiry")

    @property
    def configured(self) -> bool:
        return self.app_id is not None and (bool(self.private_key) or self.private_key_path is not None)

    def private_key_pem(self) -> bytes:
        if self.private_key:
            # Environment variables often carry a PEM with escaped newlines.
            return self.private_key.get_secret_value().replace("\\n", "\n").encode()
        if self.private_key_path is not None:
            return self.private_key_path.read_bytes()
        raise GithubAppNotConfigured()


class GithubAppNotConfigured(PermanentError):
    def __init__(self) -> None:
        super().__init__("github_app_not_configured", "set STREAM_APP_GITHUB_APP_ID and _PRIVATE_KEY(_PATH)")


def app_jwt(app_id: int, private_key: RSAPrivateKey | bytes, now: datetime) -> str:
    """The app's JWT: `iss` the app id, valid from a minute ago for GitHub's ten-minute maximum."""
    issued = now - CLOCK_DRIFT
    claims = {"iat": int(issued.timestamp()), "exp": int((issued + JWT_LIFETIME).timestamp()), "iss": str(app_id)}
    return jwt.encode(claims, private_key, algorithm="RS256")


def _load_key(pem: bytes) -> RSAPrivateKey:
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, RSAPrivateKey):
        raise PermanentError("github_app_key_invalid", "the GitHub App private key is not an unencrypted RSA PEM")
    return key


def _utcnow() -> datetime:
    return datetime.now(UTC)


class GithubApp:
    """Mints installation tokens and keeps each until shortly before it expires."""

    def __init__(self, settings: GithubAppSettings, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.settings = settings
        self._clock = clock
        self._key: RSAPrivateKey | None = None
        self._tokens: dict[tuple[str, int], Token] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"GithubApp(app_id={self.settings.app_id!r})"

    @property
    def configured(self) -> bool:
        return self.settings.configured

    def app_token(self) -> Token:
        """A fresh JWT as a token, for the /app and /marketplace_listing endpoints."""
        if self.settings.app_id is None:
            raise GithubAppNotConfigured()
        if self._key is None:
            self._key = _load_key(self.settings.private_key_pem())
        now = self._clock()
        return Token(app_jwt(self.settings.app_id, self._key, now), "app", expires_at=now - CLOCK_DRIFT + JWT_LIFETIME)

    async def installation_token(self, installation_id: int, *, http: httpx.AsyncClient, api_url: str) -> Token:
        """The installation's token from the cache, or a new one (one request at a time per installation)."""
        key = (api_url.rstrip("/"), installation_id)
        token = self._fresh(key)
        if token is not None:
            return token
        async with self._locks.setdefault(key, asyncio.Lock()):
            token = self._fresh(key)
            if token is None:
                token = await self._mint(installation_id, http=http, api_url=api_url)
                self._tokens[key] = token
            return token

    def forget(self, installation_id: int, *, api_url: str) -> None:
        """Drop a cached token the provider rejected, so the next call mints a new one."""
        self._tokens.pop((api_url.rstrip("/"), installation_id), None)

    def _fresh(self, key: tuple[str, int]) -> Token | None:
        token = self._tokens.get(key)
        margin = timedelta(seconds=self.settings.token_refresh_margin_seconds)
        if token is None or token.expires_at is None or token.expires_at - margin <= self._clock():
            return None
        return token

    async def _mint(self, installation_id: int, *, http: httpx.AsyncClient, api_url: str) -> Token:
        api = ApiClient(api_url=api_url, token=self.app_token(), http=http, accept=ACCEPT)
        body = (await api.request("POST", f"/app/installations/{installation_id}/access_tokens")).json()
        expires_at = timestamp(body.get("expires_at")) or self._clock() + timedelta(minutes=55)
        return Token(body["token"], "installation", expires_at=expires_at)


@lru_cache(maxsize=1)
def default_github_app() -> GithubApp:
    """The process-wide app (settings from the environment), so its token cache is shared."""
    return GithubApp(GithubAppSettings())
