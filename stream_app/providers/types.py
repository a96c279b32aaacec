"""What a git provider answers, as small typed values: no raw JSON leaves a provider module.

Names follow the database's vocabulary (service_id, username, default branch), not one
provider's, so GitLab and Bitbucket can fill the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

TokenSource = Literal["installation", "repo_bot", "owner_bot", "owner", "app"]
StatusState = Literal["pending", "success", "failure", "error"]
PullState = Literal["open", "closed", "merged"]
FileChange = Literal["added", "removed", "modified", "renamed", "binary"]


@dataclass(frozen=True, slots=True)
class Token:
    """A provider credential. Its value never appears in repr/str, logs, results or dead letters."""

    value: str = field(repr=False)
    source: TokenSource
    ownerid: int | None = None  # the owners row the token came from (None for app/installation tokens)
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"Token(source={self.source!r}, ownerid={self.ownerid!r}, value='<redacted>')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class RepoRef:
    """How tasks address a repo on the provider: the owner's username and the repo's name."""

    owner: str
    name: str
    service_id: str | None = None

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True, slots=True)
class UserRef:
    service_id: str
    username: str


@dataclass(frozen=True, slots=True)
class OwnerInfo:
    service_id: str
    username: str
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None
    is_org: bool = False


@dataclass(frozen=True, slots=True)
class RepoInfo:
    service_id: str
    name: str
    owner: UserRef
    private: bool
    language: str | None
    default_branch: str | None
    fork: bool = False
    parent: RepoInfo | None = None  # filled when the provider gave it (GitHub: single-repo GET)
    can_push: bool | None = None  # None: the provider did not say (e.g. installation tokens)

    @property
    def ref(self) -> RepoRef:
        return RepoRef(self.owner.username, self.name, self.service_id)


@dataclass(frozen=True, slots=True)
class BranchInfo:
    name: str
    head_sha: str


@dataclass(frozen=True, slots=True)
class PullInfo:
    number: int
    state: PullState
    title: str | None
    base_branch: str
    base_sha: str
    head_branch: str
    head_sha: str
    author: UserRef | None
    merge_commit_sha: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CommitAuthor:
    service_id: str | None
    username: str | None
    name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    message: str
    parents: tuple[str, ...]
    author: CommitAuthor
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class StatusInfo:
    context: str
    state: StatusState
    description: str | None
    target_url: str | None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CombinedStatus:
    state: StatusState
    statuses: tuple[StatusInfo, ...]  # the newest status per context


@dataclass(frozen=True, slots=True)
class CommentInfo:
    id: str
    body: str
    author: UserRef | None


@dataclass(frozen=True, slots=True)
class HookInfo:
    id: str
    url: str | None
    events: tuple[str, ...]
    active: bool


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    before_path: str | None  # set for renames
    change: FileChange
    added: tuple[int, ...]  # head line numbers added or changed
    removed: tuple[int, ...]  # base line numbers removed or changed
    patch_missing: bool = False  # the provider left the patch out (binary or too large)


@dataclass(frozen=True, slots=True)
class Comparison:
    base: str
    head: str
    commits: tuple[str, ...]
    files: tuple[FileDiff, ...]


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    kind: Literal["file", "dir"]


@dataclass(frozen=True, slots=True)
class MarketplaceAccount:
    service_id: str
    username: str
    is_org: bool
    plan_name: str | None
    price_model: str | None  # FREE | FLAT_RATE | PER_UNIT
    unit_count: int | None
    on_free_trial: bool
