"""The fake GitHub's objects: plain mutable records that tests may read and change directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Account:
    id: int
    login: str
    type: str  # User | Organization | Bot
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None


@dataclass
class Commit:
    sha: str
    message: str
    author: str | None  # login of the GitHub user, if any
    author_name: str
    author_email: str
    parents: list[str]
    files: dict[str, bytes]
    date: datetime = NOW


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool = False
    language: str | None = None
    default_branch: str = "main"
    fork_of: str | None = None
    collaborators: set[str] = field(default_factory=set)
    branches: dict[str, str] = field(default_factory=dict)  # name -> head sha
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Pull:
    number: int
    repo: str
    title: str
    author: str
    base: str
    head: str
    base_sha: str
    head_sha: str
    commits: list[str]
    state: str = "open"  # open | closed
    merged: bool = False
    merge_commit_sha: str | None = None


@dataclass
class Comment:
    id: int
    repo: str
    issue: int
    body: str
    author: str


@dataclass
class Installation:
    id: int
    app_id: int
    account: str
    repos: set[str]
