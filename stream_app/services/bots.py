"""VerifyBot: check that the token a task would use for an owner or repo still works.

A token is checked with `GET /user` (not for installation tokens, which may not call it) and,
for a repo, by reading the repo and looking at its push permission (needed to post statuses).
When it fails, the row that supplied it is fixed so the next token in the order is used, and
that token is checked in turn, until one works or none is left:

* a bot that fails (token rejected, repo not readable, no push access) is cleared: `repos.bot`
  or `owners.bot` set to NULL, on the row that named it;
* a token the provider calls bad credentials (HTTP 401: revoked or expired) is *flagged* by
  setting its `owners.oauth_token` to NULL, no schema change needed: the web app asks that
  user to log in again, and every task skips the row instead of failing on it;
* an owner's own token that works but cannot reach this repo is left alone (it is the user's
  login), and so is an installation token (nothing stored to clear): the result says why.

Returns {"valid", "token_source", "action", "checked": [{"token_source", "verdict"}], "reason"?}.
`action` is "none" or the actions taken, joined by "+". Token values never appear.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.models import Owner, Repo
from stream_app.providers import Provider, ProviderNotFound, ProviderUnauthorized, Token
from stream_app.services.repo_provider import ProviderSetup, RepoOnProvider, Unavailable, open_owner, open_repo

Verdict = Literal["valid", "revoked", "rejected", "cannot_read_repo", "cannot_push"]
MAX_TOKENS = 4  # installation, repo bot, owner bot, owner: each failure removes one


async def verify_bot(
    session: AsyncSession, setup: ProviderSetup, *, ownerid: int | None = None, repoid: int | None = None
) -> dict[str, Any]:
    if repoid is not None:
        return await _verify_repo(session, setup, repoid)
    if ownerid is None:
        raise ValueError("give ownerid or repoid")
    return await _verify_owner(session, setup, ownerid)


async def _verify_repo(session: AsyncSession, setup: ProviderSetup, repoid: int) -> dict[str, Any]:
    report = _Report()
    for _ in range(MAX_TOKENS):
        opened = await open_repo(session, setup, repoid=repoid)
        if isinstance(opened, Unavailable):
            return report.result(False, "none", reason=opened.reason)
        verdict = await _check_repo_token(opened)
        if not await report.settle(session, opened.token, verdict, repo=opened.repo, owner=opened.owner):
            return report.result(verdict == "valid", opened.token.source, reason=_reason(verdict))
    return report.result(False, "none", reason="no_valid_bot")


async def _verify_owner(session: AsyncSession, setup: ProviderSetup, ownerid: int) -> dict[str, Any]:
    report = _Report()
    for _ in range(MAX_TOKENS):
        opened = await open_owner(session, setup, ownerid=ownerid)
        if isinstance(opened, Unavailable):
            return report.result(False, "none", reason=opened.reason)
        verdict = await _check_user(opened.provider)
        if not await report.settle(session, opened.token, verdict, repo=None, owner=opened.owner):
            return report.result(verdict == "valid", opened.token.source, reason=_reason(verdict))
    return report.result(False, "none", reason="no_valid_bot")


def _reason(verdict: Verdict) -> str | None:
    return None if verdict == "valid" else verdict


async def _check_user(provider: Provider) -> Verdict:
    try:
        await provider.get_authenticated_user()
    except ProviderUnauthorized as exc:
        return "revoked" if exc.status == 401 else "rejected"
    return "valid"


async def _check_repo_token(opened: RepoOnProvider) -> Verdict:
    if opened.token.source != "installation":
        verdict = await _check_user(opened.provider)
        if verdict != "valid":
            return verdict
    try:
        info = await opened.provider.get_repo(opened.ref)
    except ProviderNotFound:
        return "cannot_read_repo"  # GitHub answers 404 for a private repo the token may not see
    except ProviderUnauthorized as exc:
        return "revoked" if exc.status == 401 else "cannot_read_repo"
    return "cannot_push" if info.can_push is False else "valid"  # None: the provider did not say


class _Report:
    """What was checked and done, for the result."""

    def __init__(self) -> None:
        self.checked: list[dict[str, str]] = []
        self.actions: list[str] = []

    async def settle(
        self, session: AsyncSession, token: Token, verdict: Verdict, *, repo: Repo | None, owner: Owner
    ) -> bool:
        """Record the check and disable the failing token; True when there is a next token to check."""
        self.checked.append({"token_source": token.source, "verdict": verdict})
        if verdict == "valid":
            return False
        actions = await _disable(session, token, verdict, repo=repo, owner=owner)
        self.actions.extend(actions)
        return bool(actions) and token.source in ("repo_bot", "owner_bot")

    def result(self, valid: bool, source: str, *, reason: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "valid": valid,
            "token_source": source,
            "action": "+".join(self.actions) or "none",
            "checked": self.checked,
        }
        if reason is not None and not valid:
            out["reason"] = reason
        return out


async def _disable(
    session: AsyncSession, token: Token, verdict: Verdict, *, repo: Repo | None, owner: Owner
) -> list[str]:
    """Clear the failing bot and flag a revoked token; the actions taken (none: nothing to fix)."""
    now = datetime.now(UTC)
    actions: list[str] = []
    if token.source == "repo_bot" and repo is not None:
        repo.bot, repo.updatestamp = None, now
        actions.append("cleared_repo_bot")
    elif token.source == "owner_bot":
        owner.bot, owner.updatestamp = None, now
        actions.append("cleared_owner_bot")
    if verdict == "revoked" and token.ownerid is not None:
        row = await session.get(Owner, token.ownerid)
        if row is not None and row.oauth_token is not None:
            row.oauth_token, row.updatestamp = None, now
            actions.append("flagged_owner_token" if token.source == "owner" else "flagged_bot_token")
    await session.flush()
    return actions
