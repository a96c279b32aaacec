"""GitHub (and GitHub Enterprise, `https://host/api/v3`) REST v3 as a `Provider`."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import httpx

from stream_app.providers import github_json as gh
from stream_app.providers import paging
from stream_app.providers.errors import ProviderNotFound
from stream_app.providers.http import DEFAULT_TIMEOUT, ApiClient, next_link, url_path, url_segment
from stream_app.providers.paging import RepoPage
from stream_app.providers.types import (
    BranchInfo,
    CombinedStatus,
    CommentInfo,
    CommitInfo,
    Comparison,
    FileEntry,
    HookInfo,
    MarketplaceAccount,
    OwnerInfo,
    PullInfo,
    RepoInfo,
    RepoRef,
    StatusInfo,
    StatusState,
    Token,
)

log = logging.getLogger(__name__)
ACCEPT = "application/vnd.github+json"
ACCEPT_RAW = "application/vnd.github.raw"
MAX_STATUS_DESCRIPTION = 140  # GitHub rejects longer descriptions with a 422
USER_REPOS = "/user/repos"
INSTALLATION_REPOS = "/installation/repositories"


def _repo_path(repo: RepoRef, tail: str = "") -> str:
    return f"/repos/{url_segment(repo.owner)}/{url_segment(repo.name)}{tail}"


class GitHub:
    service = "github"

    def __init__(
        self,
        *,
        token: Token,
        http: httpx.AsyncClient,
        api_url: str = "https://api.github.com",
        per_page: int = 100,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.token = token
        self.per_page = per_page
        self.api = ApiClient(api_url=api_url, token=token, http=http, accept=ACCEPT, timeout=timeout)

    def __repr__(self) -> str:
        return f"GitHub(api_url={self.api.api_url!r}, token={self.token!r})"

    async def _all(self, path: str, params: dict[str, str | int] | None = None) -> list[Any]:
        return [item async for page in self.api.pages(path, per_page=self.per_page, params=params) for item in page]

    # The authenticated account
    async def get_authenticated_user(self) -> OwnerInfo:
        return gh.owner_info(await self.api.get_json("/user"))

    async def list_teams(self) -> list[OwnerInfo]:
        orgs = await self._all("/user/orgs")
        return [gh.owner_info(await self.api.get_json(f"/orgs/{url_segment(org['login'])}")) for org in orgs]

    async def list_repos(self) -> AsyncIterator[list[RepoInfo]]:
        async for page in self._repo_pages(self.list_repos_page):
            yield page

    async def list_installation_repos(self) -> AsyncIterator[list[RepoInfo]]:
        async for page in self._repo_pages(self.list_installation_repos_page):
            yield page

    async def list_repos_page(self, cursor: str | None = None) -> RepoPage:
        return await self._repo_page(USER_REPOS, cursor)

    async def list_installation_repos_page(self, cursor: str | None = None) -> RepoPage:
        return await self._repo_page(INSTALLATION_REPOS, cursor, items_key="repositories")

    async def _repo_page(self, path: str, cursor: str | None, items_key: str | None = None) -> RepoPage:
        """One page; the cursor is the `next` link relative to the API root (paging.py checks both)."""
        if cursor is None:
            response = await self.api.request("GET", path, params={"per_page": self.per_page})
        else:  # the link carries the query, per_page included
            response = await self.api.request("GET", paging.request_path(cursor, path))
        body = response.json()
        items = body[items_key] if items_key else body
        following = paging.cursor_for(next_link(response.headers.get("Link")), api_url=self.api.api_url, path=path)
        return RepoPage([gh.repo_info(item) for item in items], following)

    @staticmethod
    async def _repo_pages(page_at: Callable[[str | None], Awaitable[RepoPage]]) -> AsyncIterator[list[RepoInfo]]:
        cursor: str | None = None
        while True:
            page = await page_at(cursor)
            yield page.repos
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # One repo
    async def get_repo(self, repo: RepoRef) -> RepoInfo:
        return gh.repo_info(await self.api.get_json(_repo_path(repo)))

    async def list_branches(self, repo: RepoRef) -> list[BranchInfo]:
        return [BranchInfo(b["name"], b["commit"]["sha"]) for b in await self._all(_repo_path(repo, "/branches"))]

    async def list_pulls(self, repo: RepoRef, *, state: str = "open") -> list[PullInfo]:
        return [gh.pull_info(p) for p in await self._all(_repo_path(repo, "/pulls"), {"state": state})]

    async def get_pull(self, repo: RepoRef, number: int) -> PullInfo:
        return gh.pull_info(await self.api.get_json(_repo_path(repo, f"/pulls/{number}")))

    async def list_pull_commits(self, repo: RepoRef, number: int) -> list[str]:
        return [c["sha"] for c in await self._all(_repo_path(repo, f"/pulls/{number}/commits"))]

    async def find_pulls_for_commit(self, repo: RepoRef, sha: str) -> list[PullInfo]:
        return [
            gh.pull_info(p) for p in await self.api.get_json(_repo_path(repo, f"/commits/{url_segment(sha)}/pulls"))
        ]

    async def compare(self, repo: RepoRef, base: str, head: str) -> Comparison:
        body = await self.api.get_json(_repo_path(repo, f"/compare/{url_segment(base)}...{url_segment(head)}"))
        commits = tuple(c["sha"] for c in body.get("commits", []))
        return Comparison(base, head, commits, tuple(gh.file_diff(f) for f in body.get("files", [])))

    async def get_commit(self, repo: RepoRef, sha: str) -> CommitInfo:
        return gh.commit_info(await self.api.get_json(_repo_path(repo, f"/commits/{url_segment(sha)}")))

    # Commit statuses
    async def get_combined_status(self, repo: RepoRef, sha: str) -> CombinedStatus:
        path = _repo_path(repo, f"/commits/{url_segment(sha)}/status")
        bodies = [body async for body in self.api.page_bodies(path, per_page=self.per_page)]
        statuses = tuple(gh.status_info(s) for body in bodies for s in body.get("statuses", []))
        return CombinedStatus(bodies[0]["state"], statuses)

    async def list_statuses(self, repo: RepoRef, sha: str) -> list[StatusInfo]:
        return [gh.status_info(s) for s in await self._all(_repo_path(repo, f"/commits/{url_segment(sha)}/statuses"))]

    async def set_commit_status(
        self,
        repo: RepoRef,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> StatusInfo:
        body = {"state": state, "context": context, "description": description[:MAX_STATUS_DESCRIPTION]}
        if target_url:
            body["target_url"] = target_url
        response = await self.api.request("POST", _repo_path(repo, f"/statuses/{url_segment(sha)}"), json=body)
        return gh.status_info(response.json())

    # Pull-request comments
    async def post_comment(self, repo: RepoRef, number: int, body: str) -> CommentInfo:
        response = await self.api.request("POST", _repo_path(repo, f"/issues/{number}/comments"), json={"body": body})
        return gh.comment_info(response.json())

    async def edit_comment(self, repo: RepoRef, comment_id: str, body: str) -> CommentInfo:
        path = _repo_path(repo, f"/issues/comments/{url_segment(comment_id)}")
        return gh.comment_info((await self.api.request("PATCH", path, json={"body": body})).json())

    async def delete_comment(self, repo: RepoRef, comment_id: str) -> bool:
        return await self._delete(_repo_path(repo, f"/issues/comments/{url_segment(comment_id)}"))

    # Webhooks
    async def list_hooks(self, repo: RepoRef) -> list[HookInfo]:
        return [gh.hook_info(h) for h in await self._all(_repo_path(repo, "/hooks"))]

    async def get_hook(self, repo: RepoRef, hook_id: str) -> HookInfo | None:
        try:
            return gh.hook_info(await self.api.get_json(_repo_path(repo, f"/hooks/{url_segment(hook_id)}")))
        except ProviderNotFound:
            return None

    async def create_hook(self, repo: RepoRef, *, url: str, events: Sequence[str], secret: str) -> HookInfo:
        config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
        body = {"name": "web", "active": True, "events": list(events), "config": config}
        return gh.hook_info((await self.api.request("POST", _repo_path(repo, "/hooks"), json=body)).json())

    async def delete_hook(self, repo: RepoRef, hook_id: str) -> bool:
        return await self._delete(_repo_path(repo, f"/hooks/{url_segment(hook_id)}"))

    async def _delete(self, path: str) -> bool:
        try:
            await self.api.request("DELETE", path)
        except ProviderNotFound:
            return False
        return True

    # Files
    async def get_file(self, repo: RepoRef, path: str, *, ref: str) -> bytes | None:
        try:
            url = _repo_path(repo, f"/contents/{url_path(path.lstrip('/'))}")
            body = await self.api.get_json(url, {"ref": ref})
            if not isinstance(body, dict) or body.get("type") != "file":
                return None  # a directory, symlink or submodule
            if body.get("encoding") == "base64":
                return base64.b64decode(body.get("content") or "")
            # Over 1 MB GitHub leaves the content out ("encoding": "none"): ask for the raw bytes.
            return (await self.api.request("GET", url, params={"ref": ref}, accept=ACCEPT_RAW)).content
        except ProviderNotFound:
            return None

    async def list_top_level_files(self, repo: RepoRef, *, ref: str) -> list[FileEntry]:
        return await self.list_directory(repo, "", ref=ref)

    async def list_directory(self, repo: RepoRef, path: str, *, ref: str) -> list[FileEntry]:
        tail = f"/contents/{url_path(path.strip('/'))}" if path.strip("/") else "/contents"
        body = await self.api.get_json(_repo_path(repo, tail), {"ref": ref})
        if not isinstance(body, list):
            raise ProviderNotFound(f"GET {_repo_path(repo, tail)}: not a directory", 404)
        return [FileEntry(e["path"], "dir" if e["type"] == "dir" else "file") for e in body]

    async def list_files(self, repo: RepoRef, *, ref: str) -> list[str]:
        body = await self.api.get_json(_repo_path(repo, f"/git/trees/{url_segment(ref)}"), {"recursive": 1})
        if body.get("truncated"):
            log.warning("file tree of %s at %s is truncated by GitHub", repo.slug, ref)
        return [e["path"] for e in body.get("tree", []) if e.get("type") == "blob"]

    # Marketplace: this provider's token must be the app's JWT (GithubApp.app_token()).
    async def get_marketplace_account(self, account_id: str) -> MarketplaceAccount | None:
        try:
            body = await self.api.get_json(f"/marketplace_listing/accounts/{url_segment(account_id)}")
        except ProviderNotFound:
            return None
        return gh.marketplace_account(body)
