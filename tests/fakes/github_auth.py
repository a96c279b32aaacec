"""Who is calling the fake: a user token, an installation token, the app's JWT, or nobody."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from aiohttp import web

from tests.fakes.github_http import ApiError, fake_of, not_found
from tests.fakes.github_state import Commit, GitHubState, Installation, Repo


@dataclass(frozen=True)
class Principal:
    kind: str  # anonymous | user | installation | app
    login: str | None = None
    installation: Installation | None = None
    app_id: int | None = None


ANONYMOUS = Principal("anonymous")
PRINCIPAL = web.RequestKey("principal", Principal)
BAD_CREDENTIALS = ApiError(401, "Bad credentials")


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None


def authenticate(state: GitHubState, token: str | None) -> Principal:
    if token is None:
        return ANONYMOUS
    if token in state.revoked:
        raise BAD_CREDENTIALS
    if token in state.tokens:
        return Principal("user", login=state.tokens[token])
    if token in state.installation_tokens:
        return Principal("installation", installation=state.installations[state.installation_tokens[token]])
    if token.count(".") == 2:
        return Principal("app", app_id=_verify_jwt(state, token))
    raise BAD_CREDENTIALS


def _verify_jwt(state: GitHubState, token: str) -> int:
    """The app id of a valid RS256 app JWT (iss = app id, lifetime at most ten minutes)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        app_id = int(claims["iss"])
        key = state.apps[app_id]
        claims = jwt.decode(token, key, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]})
    except (jwt.PyJWTError, KeyError, ValueError):
        raise ApiError(401, "A JSON web token could not be decoded") from None
    if claims["exp"] - claims["iat"] > 600:
        raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
    return app_id


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def require_user(request: web.Request) -> str:
    who = principal(request)
    if who.kind == "user" and who.login:
        return who.login
    if who.kind == "installation":
        raise ApiError(403, "Resource not accessible by integration")
    raise ApiError(401, "Requires authentication")


def require_app(request: web.Request) -> int:
    who = principal(request)
    if who.kind != "app" or who.app_id is None:
        raise ApiError(401, "A JSON web token could not be decoded")
    return who.app_id


def require_installation(request: web.Request) -> Installation:
    who = principal(request)
    if who.installation is None:
        raise ApiError(403, "You must authenticate with an installation access token")
    return who.installation


def can_read(state: GitHubState, who: Principal, repo: Repo) -> bool:
    return not repo.private or can_write(state, who, repo)


def can_write(state: GitHubState, who: Principal, repo: Repo) -> bool:
    if who.kind == "user" and who.login:
        return state.user_can_push(who.login, repo)
    if who.installation is not None:
        return repo.full_name in who.installation.repos
    return False


def mint_installation_token(state: GitHubState, installation: Installation) -> tuple[str, datetime]:
    token = f"ghs_{secrets.token_hex(16)}"
    state.installation_tokens[token] = installation.id
    return token, datetime.now(UTC).replace(microsecond=0) + state.installation_token_lifetime


def repo_of(request: web.Request, *, write: bool = False) -> Repo:
    fake, who = fake_of(request), principal(request)
    repo = fake.repos.get(f"{request.match_info['owner']}/{request.match_info['repo']}")
    if repo is None or not can_read(fake, who, repo):
        raise not_found()
    if write and not can_write(fake, who, repo):
        raise ApiError(403, "Resource not accessible by integration" if who.installation else "Must have push access")
    return repo


def commit_of(request: web.Request, repo: Repo, ref: str | None) -> Commit:
    fake = fake_of(request)
    sha = fake.resolve(repo.full_name, ref or repo.default_branch)
    if sha is None:
        raise ApiError(404, "No commit found for the ref" if repo.branches else "This repository is empty.")
    return fake.commits[(repo.full_name, sha)]
