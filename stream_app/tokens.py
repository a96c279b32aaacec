"""Provider tokens: Fernet at rest in `owners.oauth_token`, and which token a task uses.

Order for a repo (spec/tasks.md "Tokens"): the GitHub App installation token (when
`repos.using_integration` and `owners.integration_id` are set), the repo's bot, the owner's
bot, the owner's own token. None means no usable token: the task ends with "no_valid_bot".
Token values are never logged; `Token`'s repr is redacted.
"""

from __future__ import annotations

import logging

import httpx
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.errors import PermanentError
from stream_app.models import Owner, Repo
from stream_app.providers.errors import ProviderNotFound, ProviderUnauthorized
from stream_app.providers.github_app import GithubApp, default_github_app
from stream_app.providers.types import Token, TokenSource
from stream_app.settings import Settings

log = logging.getLogger(__name__)
INSTALLATION_SERVICES = frozenset({"github", "github_enterprise"})


class EncryptionKeyError(PermanentError):
    """STREAM_APP_ENCRYPTION_KEY is missing or not a Fernet key: no token can be read."""


class TokenUnreadable(Exception):
    """A stored token does not decrypt with the configured key."""


def _fernet(key: str | None) -> Fernet:
    if not key:
        raise EncryptionKeyError("encryption_key_missing", "set STREAM_APP_ENCRYPTION_KEY to read provider tokens")
    try:
        return Fernet(key)
    except ValueError:
        raise EncryptionKeyError("encryption_key_invalid", "STREAM_APP_ENCRYPTION_KEY is not a Fernet key") from None


def encrypt_token(plain: str, key: str | None) -> str:
    """The text stored in `owners.oauth_token` for a plain token (as the web app writes it)."""
    return _fernet(key).encrypt(plain.encode()).decode("ascii")


def decrypt_token(stored: str, key: str | None) -> str:
    try:
        return _fernet(key).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise TokenUnreadable("the stored token does not decrypt with STREAM_APP_ENCRYPTION_KEY") from None


def bot_candidates(*, repo_bot: Owner | None, owner_bot: Owner | None, owner: Owner) -> list[tuple[TokenSource, Owner]]:
    """The owner rows whose stored tokens may be used, best first (pure: no I/O)."""
    order: list[tuple[TokenSource, Owner | None]] = [("repo_bot", repo_bot), ("owner_bot", owner_bot), ("owner", owner)]
    return [(source, row) for source, row in order if row is not None and row.oauth_token]


def uses_installation(owner: Owner, *, using_integration: bool) -> bool:
    return using_integration and owner.integration_id is not None and owner.service in INSTALLATION_SERVICES


def first_readable(candidates: list[tuple[TokenSource, Owner]], key: str | None) -> Token | None:
    """The first candidate whose token decrypts; undecryptable ones are skipped and logged."""
    for source, row in candidates:
        if row.oauth_token is None:
            continue
        try:
            return Token(decrypt_token(row.oauth_token, key), source, ownerid=row.ownerid)
        except TokenUnreadable:
            log.warning("token of owner %s (%s) does not decrypt; trying the next one", row.ownerid, source)
    return None


async def token_for_repo(
    session: AsyncSession,
    repo: Repo,
    owner: Owner,
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    app: GithubApp | None = None,
) -> Token | None:
    """The token to act on `repo` (owned by `owner`) with, in the spec's order, or None."""
    if uses_installation(owner, using_integration=repo.using_integration):
        token = await installation_token(owner, http=http, settings=settings, app=app)
        if token is not None:
            return token
    repo_bot = await session.get(Owner, repo.bot) if repo.bot is not None else None
    owner_bot = await session.get(Owner, owner.bot) if owner.bot is not None else None
    return first_readable(bot_candidates(repo_bot=repo_bot, owner_bot=owner_bot, owner=owner), settings.encryption_key)


async def token_for_owner(
    session: AsyncSession,
    owner: Owner,
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    using_integration: bool = False,
    allow_bot: bool = True,
    app: GithubApp | None = None,
) -> Token | None:
    """The token to act for `owner`: installation (when asked), its bot, its own token.

    `allow_bot=False` for calls about the authenticated account itself (GitHub `/user/orgs`,
    `/user/repos`): a bot's token would list the bot's orgs and repos.
    """
    if uses_installation(owner, using_integration=using_integration):
        token = await installation_token(owner, http=http, settings=settings, app=app)
        if token is not None:
            return token
    owner_bot = await session.get(Owner, owner.bot) if allow_bot and owner.bot is not None else None
    return first_readable(bot_candidates(repo_bot=None, owner_bot=owner_bot, owner=owner), settings.encryption_key)


async def installation_token(
    owner: Owner, *, http: httpx.AsyncClient, settings: Settings, app: GithubApp | None = None
) -> Token | None:
    """The owner's app installation token; None when the app is not configured or the installation is gone.

    Transient failures (rate limit, 5xx) propagate: the record is retried rather than run with
    a weaker token.
    """
    app = app or default_github_app()
    if owner.integration_id is None or not app.configured:
        log.warning("owner %s uses the GitHub App but the app is not configured", owner.ownerid)
        return None
    try:
        return await app.installation_token(owner.integration_id, http=http, api_url=settings.github_api_url)
    except (ProviderNotFound, ProviderUnauthorized) as exc:
        log.warning("installation %s of owner %s unusable (%s)", owner.integration_id, owner.ownerid, exc.status)
        return None
