"""Upload: make sure the commit exists, enrich it from the provider (best effort), create one
`uploads` row per upload and fan out one UploadProcessor record per new upload.

The chord needs no extra bookkeeping: `uploads.state` is the bookkeeping. Every processor
ends its upload (processed or error) under the commit's row lock and counts the commit's uploads
still `uploaded`/`processing`; the one that sees zero schedules the finisher (upload_processing).
New uploads are inserted here under the same row lock, so a processor either sees them (and
leaves the finisher to them) or finished before they existed (and they get their own finisher).

Provider enrichment (commit message, author, parent, branch, pull; the yaml; the webhook) is
best effort: no token or a 4xx means going on without it (the reason is in the result), and a
transient failure may delay the record only for its first TRANSIENT_DELAYS attempts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stream_app.config import CommitYaml, fetch_commit_yaml
from stream_app.errors import PermanentError, RetryLater
from stream_app.models import Commit, Owner, Repo, Upload
from stream_app.providers import Provider, RepoRef, Token, get_provider
from stream_app.providers.types import CommitAuthor, CommitInfo, PullInfo
from stream_app.services.upload_paths import commit_yaml_path, write_json
from stream_app.settings import Settings
from stream_app.storage import ArchiveStorage
from stream_app.task_args import UploadItemV1
from stream_app.tokens import token_for_repo

T = TypeVar("T")
Schedule = Callable[..., Awaitable[str]]  # schedule(task, key=None, **args): a follow-up through the outbox
UPLOAD_PROCESSOR = "app.tasks.upload_processor.UploadProcessorTask"
TRANSIENT_DELAYS = 3  # attempts that may wait out a provider outage before going on without it
HOOK_EVENTS = ("pull_request", "delete", "push", "public", "status", "repository")


@dataclass(frozen=True)
class ProviderAccess:
    """What a service needs to reach the repo's git provider: the record's attempt decides the patience."""

    http: httpx.AsyncClient
    settings: Settings
    attempt: int = 0
    hook_url: str | None = None  # the webhook to create on repos without one (None: do not create)
    hook_secret: str | None = None


def provider_access(http: httpx.AsyncClient, settings: Settings, *, attempt: int) -> ProviderAccess:
    # Without STREAM_APP_WEBHOOK_URL no webhook is created and results say "hook: not_configured".
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return ProviderAccess(http, settings, attempt, settings.webhook_url, secret)


@dataclass
class RepoProvider:
    """The repo's provider, or None when there is no usable token; `reasons` collects what was skipped."""

    provider: Provider | None
    ref: RepoRef
    attempt: int
    reasons: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, session: AsyncSession, repo: Repo, owner: Owner, access: ProviderAccess) -> RepoProvider:
        gh = cls(None, RepoRef(owner.username or "", repo.name, repo.service_id), access.attempt)
        token = await gh._guard(
            "token", lambda: token_for_repo(session, repo, owner, http=access.http, settings=access.settings)
        )
        if token is None:
            gh.reasons = gh.reasons or ["no_valid_bot"]
        else:
            gh.provider = await gh._guard("provider", lambda: _provider(owner.service, token, access))
        return gh

    async def call(self, what: str, fn: Callable[[Provider], Awaitable[T]]) -> T | None:
        """`fn(provider)`, or None when it cannot be had now (the reason is kept)."""
        provider = self.provider
        return None if provider is None else await self._guard(what, lambda: fn(provider))

    async def _guard(self, what: str, fn: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await fn()
        except RetryLater:
            if self.attempt < TRANSIENT_DELAYS:
                raise  # the pipeline runs the record again later
            self.reasons.append(f"{what}: provider_unavailable")
        except PermanentError as exc:  # a 4xx, an unknown provider, no encryption key...
            self.reasons.append(f"{what}: {exc.code}")
        return None


async def _provider(service: str, token: Token, access: ProviderAccess) -> Provider:
    return get_provider(service, token=token, http=access.http, settings=access.settings)


@dataclass(frozen=True)
class CommitFacts:
    info: CommitInfo | None = None
    pull: PullInfo | None = None
    branch: str | None = None


async def commit_facts(gh: RepoProvider, commit: Commit, *, default_branch: str | None) -> CommitFacts:
    """The commit, its pull and its branch from the provider (only when the commit's message is empty)."""
    if commit.message:
        return CommitFacts()
    commitid, branch = commit.commitid, commit.branch
    info = await gh.call("commit", lambda p: p.get_commit(gh.ref, commitid))
    pulls = await gh.call("pulls", lambda p: p.find_pulls_for_commit(gh.ref, commitid)) or []
    pull = next((p for p in pulls if p.head_sha == commitid), pulls[0] if pulls else None)
    if branch is None and pull is not None:
        branch = pull.head_branch
    if branch is None:
        heads = await gh.call("branches", lambda p: p.list_branches(gh.ref)) or []
        names = [b.name for b in heads if b.head_sha == commitid]
        branch = default_branch if default_branch in names else next(iter(names), None)
    return CommitFacts(info, pull, branch)


async def ensure_hook(gh: RepoProvider, access: ProviderAccess) -> str | None:
    """The id of the repo's webhook: an existing one with our URL, else a new one (never two)."""
    if gh.provider is None:
        return None
    if access.hook_url is None or access.hook_secret is None:
        gh.reasons.append("hook: not_configured")
        return None
    url, secret = access.hook_url, access.hook_secret
    hooks = await gh.call("hook", lambda p: p.list_hooks(gh.ref))
    if hooks is None:
        return None
    existing = next((h.id for h in hooks if h.url == url), None)
    if existing is not None:
        return existing
    created = await gh.call("hook", lambda p: p.create_hook(gh.ref, url=url, events=HOOK_EVENTS, secret=secret))
    return None if created is None else created.id


async def create_uploads(
    session: AsyncSession,
    storage: ArchiveStorage,
    *,
    repoid: int,
    commitid: str,
    uploads: Sequence[UploadItemV1],
    schedule: Schedule,
    access: ProviderAccess,
) -> dict[str, Any]:
    """Returns {"uploads_created", "processors_scheduled"} (+ "enrichment": reasons it was cut short)."""
    repo = await session.get(Repo, repoid)
    if repo is None:
        return {"uploads_created": 0, "processors_scheduled": 0, "reason": "repo_not_found"}
    owner = await session.get(Owner, repo.ownerid)
    assert owner is not None  # a foreign key
    await session.execute(
        insert(Commit).values(repoid=repoid, commitid=commitid, state="pending").on_conflict_do_nothing()
    )
    # Provider reads first, without the commit's row lock: processors of this commit keep going.
    current = await _commit(session, repoid, commitid, lock=False)
    gh = await RepoProvider.open(session, repo, owner, access)
    facts = await commit_facts(gh, current, default_branch=repo.branch)
    found_yaml = await gh.call("yaml", lambda p: fetch_commit_yaml(p, gh.ref, ref=commitid))
    hookid = await ensure_hook(gh, access) if repo.hookid is None else None
    commit = await _commit(session, repoid, commitid, lock=True)
    await _apply_facts(session, commit, facts, service=owner.service)
    await _save_yaml(storage, repo, commit, found_yaml, gh.reasons)
    if hookid is not None:
        repo.hookid = hookid
    created = await _insert_uploads(session, commit.id, uploads)
    for upload_id in created:
        key = f"{repoid}:{commitid}:{upload_id}"  # its own key: one commit's processors run in parallel
        await schedule(UPLOAD_PROCESSOR, key=key, repoid=repoid, commitid=commitid, upload_id=upload_id)
    result: dict[str, Any] = {"uploads_created": len(created), "processors_scheduled": len(created)}
    if gh.reasons:
        result["enrichment"] = gh.reasons
    return result


async def _commit(session: AsyncSession, repoid: int, commitid: str, *, lock: bool) -> Commit:
    statement = select(Commit).where(Commit.repoid == repoid, Commit.commitid == commitid)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    commit = await session.scalar(statement)
    assert commit is not None  # inserted above, in this transaction or a committed one
    return commit


async def _apply_facts(session: AsyncSession, commit: Commit, facts: CommitFacts, *, service: str) -> None:
    info, pull = facts.info, facts.pull
    if info is not None and not commit.message:
        commit.message = info.message
        commit.parent = commit.parent or (info.parents[0] if info.parents else None)
        commit.timestamp = commit.timestamp or info.timestamp
        commit.author = commit.author or await _author(session, service, info.author)
    if pull is not None and commit.pullid is None:
        commit.pullid = pull.number
    commit.branch = commit.branch or facts.branch


async def _author(session: AsyncSession, service: str, author: CommitAuthor) -> int | None:
    """The author's owners row (created when new), when the provider knows the account."""
    if author.service_id is None:
        return None
    statement = insert(Owner).values(
        service=service, service_id=author.service_id, username=author.username, name=author.name, email=author.email
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Owner.service, Owner.service_id],
        set_={"username": func.coalesce(statement.excluded.username, Owner.username)},
    )
    return (await session.scalars(statement.returning(Owner.ownerid))).one()


async def _save_yaml(
    storage: ArchiveStorage, repo: Repo, commit: Commit, found: CommitYaml | None, reasons: list[str]
) -> None:
    """Keep the commit's yaml for its processors and finisher; on the default branch, as repos.yaml too."""
    if found is None or found.path is None:
        return
    if found.error is not None or found.data is None:
        reasons.append(f"yaml: invalid ({found.error.message if found.error else 'empty'})")
        return
    await write_json(storage, commit_yaml_path(repo.repoid, commit.commitid), found.data)
    if commit.branch is not None and commit.branch == repo.branch:
        repo.yaml = found.data


async def _insert_uploads(session: AsyncSession, commit_id: int, uploads: Sequence[UploadItemV1]) -> list[str]:
    """Insert the uploads not seen before (by upload_id); returns their upload ids, in order.

    Runs under the commit's row lock, so the new ones are numbered right after the existing sessions.
    """
    known = select(Upload.external_id, Upload.order_number).where(Upload.commit_id == commit_id)
    existing = {external_id: number for external_id, number in (await session.execute(known)).all()}
    fresh: dict[str, UploadItemV1] = {}
    for upload in uploads:
        if upload.upload_id not in existing:
            fresh.setdefault(upload.upload_id, upload)  # the first of a repeated id wins
    new = list(fresh.values())
    if not new:
        return []
    first = max((n for n in existing.values() if n is not None), default=-1) + 1
    rows = [_row(commit_id, u, first + n) for n, u in enumerate(new)]
    statement = (
        insert(Upload).values(rows).on_conflict_do_nothing(index_elements=[Upload.commit_id, Upload.external_id])
    )
    created = set((await session.scalars(statement.returning(Upload.external_id))).all())
    return [u.upload_id for u in new if u.upload_id in created]


def _row(commit_id: int, upload: UploadItemV1, order_number: int) -> dict[str, Any]:
    return {
        "commit_id": commit_id,
        "external_id": upload.upload_id,
        "storage_path": upload.storage_path,
        "state": "uploaded",
        "flags": list(upload.flags),
        "build_code": upload.build,
        "build_url": upload.build_url,
        "job_code": upload.job,
        "name": upload.name,
        "provider": upload.service,
        "order_number": order_number,
    }
