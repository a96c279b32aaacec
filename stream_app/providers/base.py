"""The git provider interface tasks program against; GitHub is its first implementation.

Every method raises the `stream_app.providers.errors` taxonomy: `ProviderNotFound`,
`ProviderUnauthorized`, `ProviderClientError` (4xx), `ProviderRateLimited` and
`ProviderServerError` (transient, both `RetryLater`); `paging.InvalidCursor` (a client error)
for a page cursor it did not make. Methods returning `X | None` answer None for a 404 instead
of raising.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

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
)


class Provider(Protocol):
    service: str

    # The authenticated account
    async def get_authenticated_user(self) -> OwnerInfo: ...
    async def list_teams(self) -> list[OwnerInfo]:
        """The organisations the user belongs to, each with its profile (name, email)."""
        ...

    def list_repos(self) -> AsyncIterator[list[RepoInfo]]:
        """The repos the user can see, one provider page at a time."""
        ...

    def list_installation_repos(self) -> AsyncIterator[list[RepoInfo]]:
        """The repos an app installation token may use, one page at a time."""
        ...

    async def list_repos_page(self, cursor: str | None = None) -> RepoPage:
        """One page of `list_repos`: the first (cursor None) or the one a previous page's
        `next_cursor` names. Raises `InvalidCursor` for a cursor this provider did not make
        for this listing (see providers/paging.py)."""
        ...

    async def list_installation_repos_page(self, cursor: str | None = None) -> RepoPage:
        """One page of `list_installation_repos`, as `list_repos_page`."""
        ...

    # One repo
    async def get_repo(self, repo: RepoRef) -> RepoInfo: ...
    async def list_branches(self, repo: RepoRef) -> list[BranchInfo]: ...
    async def list_pulls(self, repo: RepoRef, *, state: str = "open") -> list[PullInfo]: ...
    async def get_pull(self, repo: RepoRef, number: int) -> PullInfo: ...
    async def list_pull_commits(self, repo: RepoRef, number: int) -> list[str]: ...
    async def find_pulls_for_commit(self, repo: RepoRef, sha: str) -> list[PullInfo]: ...
    async def compare(self, repo: RepoRef, base: str, head: str) -> Comparison: ...
    async def get_commit(self, repo: RepoRef, sha: str) -> CommitInfo: ...

    # Commit statuses
    async def get_combined_status(self, repo: RepoRef, sha: str) -> CombinedStatus: ...
    async def list_statuses(self, repo: RepoRef, sha: str) -> list[StatusInfo]: ...
    async def set_commit_status(
        self,
        repo: RepoRef,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> StatusInfo: ...

    # Pull-request comments
    async def post_comment(self, repo: RepoRef, number: int, body: str) -> CommentInfo: ...
    async def edit_comment(self, repo: RepoRef, comment_id: str, body: str) -> CommentInfo: ...
    async def delete_comment(self, repo: RepoRef, comment_id: str) -> bool:
        """True when deleted, False when it was already gone."""
        ...

    # Webhooks
    async def list_hooks(self, repo: RepoRef) -> list[HookInfo]: ...
    async def get_hook(self, repo: RepoRef, hook_id: str) -> HookInfo | None: ...
    async def create_hook(self, repo: RepoRef, *, url: str, events: Sequence[str], secret: str) -> HookInfo: ...
    async def delete_hook(self, repo: RepoRef, hook_id: str) -> bool:
        """True when deleted, False when it was already gone."""
        ...

    # Files
    async def get_file(self, repo: RepoRef, path: str, *, ref: str) -> bytes | None: ...
    async def list_top_level_files(self, repo: RepoRef, *, ref: str) -> list[FileEntry]: ...
    async def list_directory(self, repo: RepoRef, path: str, *, ref: str) -> list[FileEntry]: ...
    async def list_files(self, repo: RepoRef, *, ref: str) -> list[str]:
        """Every file path in the tree at `ref` (for fixing report paths)."""
        ...

    # Marketplace (GitHub App JWT)
    async def get_marketplace_account(self, account_id: str) -> MarketplaceAccount | None: ...
