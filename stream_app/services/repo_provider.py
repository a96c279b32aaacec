"""Open a repo (or an owner) on its git provider: its rows, the token to use and the client.

One place for what every repo task needs first. When it cannot be done the answer is an
`Unavailable` with a clear reason ("repo_not_found", "owner_not_found", "no_valid_bot"), which
tasks put into their result: a missing row or a missing token is not a crash.

Transient provider failures while minting an installation token propagate (`RetryLater`), and
an unknown `owners.service` is a `PermanentError` (dead letter, redrivable once supported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Owner, Repo
from stream_app.providers import Provider, RepoRef, Token, get_provider
from stream_app.providers.github_app import GithubApp
from stream_app.settings import Settings
from stream_app.tokens import token_for_owner, token_for_repo

Reason = Literal["repo_not_found", "owner_not_found", "no_valid_bot"]


@dataclass(frozen=True)
class ProviderSetup:
    """What reaching a provider takes: the shared HTTP client and the settings (API URL, key)."""

    http: httpx.AsyncClient
    settings: Settings
    app: GithubApp | None = None  # None: the GitHub App of the STREAM_APP_GITHUB_APP_* variables


@dataclass(frozen=True)
class Unavailable:
    reason: Reason


@dataclass(frozen=True)
class RepoOnProvider:
    """A repo with its owner, the token chosen for it (never logged) and a client using that token."""

    repo: Repo
    owner: Owner
    token: Token
    provider: Provider

    @property
    def ref(self) -> RepoRef:
        return repo_ref(self.repo, self.owner)


@dataclass(frozen=True)
class OwnerOnProvider:
    owner: Owner
    token: Token
    provider: Provider


def repo_ref(repo: Repo, owner: Owner) -> RepoRef:
    return RepoRef(owner.username or "", repo.name, repo.service_id)


async def load_repo(session: AsyncSession, repoid: int, *, lock: bool = False) -> tuple[Repo, Owner] | Unavailable:
    """The repo and owner rows; `lock` takes the repo row's lock (FOR UPDATE) and reloads it."""
    statement = select(Repo).where(Repo.repoid == repoid)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    repo = await session.scalar(statement)
    if repo is None:
        return Unavailable("repo_not_found")
    owner = await session.get(Owner, repo.ownerid)
    if owner is None:  # a foreign key; only a concurrent delete gets here
        return Unavailable("owner_not_found")
    return repo, owner


async def connect_repo(
    session: AsyncSession, setup: ProviderSetup, repo: Repo, owner: Owner
) -> RepoOnProvider | Unavailable:
    """The provider client for `repo`, with the first token of the spec's order."""
    token = await token_for_repo(session, repo, owner, http=setup.http, settings=setup.settings, app=setup.app)
    if token is None:
        return Unavailable("no_valid_bot")
    provider = get_provider(owner.service, token=token, http=setup.http, settings=setup.settings)
    return RepoOnProvider(repo, owner, token, provider)


async def open_repo(
    session: AsyncSession, setup: ProviderSetup, *, repoid: int, lock: bool = False
) -> RepoOnProvider | Unavailable:
    """`load_repo` then `connect_repo`: what most repo tasks start with."""
    loaded = await load_repo(session, repoid, lock=lock)
    if isinstance(loaded, Unavailable):
        return loaded
    return await connect_repo(session, setup, *loaded)


async def open_owner(session: AsyncSession, setup: ProviderSetup, *, ownerid: int) -> OwnerOnProvider | Unavailable:
    """The provider client acting for an owner: its bot's token, else its own."""
    owner = await session.get(Owner, ownerid)
    if owner is None:
        return Unavailable("owner_not_found")
    token = await token_for_owner(session, owner, http=setup.http, settings=setup.settings, app=setup.app)
    if token is None:
        return Unavailable("no_valid_bot")
    provider = get_provider(owner.service, token=token, http=setup.http, settings=setup.settings)
    return OwnerOnProvider(owner, token, provider)
