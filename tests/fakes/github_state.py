"""The fake GitHub's world: accounts, repos, commits with files, pulls, statuses, comments, hooks.

Builders (`add_user`, `add_repo`, `add_commit`...) return the new object so tests can read ids.
Access rules follow GitHub's: public repos are readable by anyone; private ones by the owner,
members of the owning org, collaborators, and installations that include them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from tests.fakes.github_models import NOW, Account, Comment, Commit, Installation, Pull, Repo

__all__ = ["NOW", "Account", "Comment", "Commit", "GitHubState", "Installation", "Pull", "Repo"]


class GitHubState:
    def __init__(self) -> None:
        self._ids = itertools.count(1001)
        self._shas = itertools.count(1)
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, str] = {}  # user token -> login
        self.revoked: set[str] = set()
        self.members: dict[str, set[str]] = {}  # org -> user logins
        self.repos: dict[str, Repo] = {}
        self.commits: dict[tuple[str, str], Commit] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.statuses: dict[tuple[str, str], list[dict[str, Any]]] = {}  # oldest first
        self.comments: dict[int, Comment] = {}
        self.compare_files: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.apps: dict[int, bytes] = {}  # app id -> public key PEM
        self.installations: dict[int, Installation] = {}
        self.installation_tokens: dict[str, int] = {}
        self.installation_token_lifetime = timedelta(hours=1)
        self.marketplace: dict[int, dict[str, Any]] = {}

    def next_id(self) -> int:
        return next(self._ids)

    # Accounts
    def add_user(
        self, login: str, *, token: str | None = None, name: str | None = None, email: str | None = None
    ) -> Account:
        user = Account(self.next_id(), login, "User", name, email, f"https://avatars.example/{login}")
        self.accounts[login] = user
        if token:
            self.tokens[token] = login
        return user

    def add_org(
        self,
        login: str,
        *,
        members: tuple[str, ...] | list[str] = (),
        name: str | None = None,
        email: str | None = None,
    ) -> Account:
        org = Account(self.next_id(), login, "Organization", name, email, f"https://avatars.example/{login}")
        self.accounts[login] = org
        self.members[login] = set(members)
        return org

    def revoke(self, token: str) -> None:
        self.revoked.add(token)

    # Repos and commits
    def add_repo(self, full_name: str, **fields: Any) -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(self.next_id(), owner, name, **fields)
        self.repos[full_name] = repo
        return repo

    def add_commit(
        self,
        full_name: str,
        *,
        message: str = "a commit",
        author: str | None = None,
        parents: list[str] | None = None,
        branch: str | None = None,
        files: Mapping[str, bytes | None] | None = None,
        sha: str | None = None,
    ) -> Commit:
        """A commit whose files are its first parent's with `files` applied (None deletes)."""
        repo = self.repos[full_name]
        if parents is None:
            head = repo.branches.get(branch or repo.default_branch)
            parents = [head] if head else []
        tree = dict(self.commits[(full_name, parents[0])].files) if parents else {}
        for path, content in (files or {}).items():
            if content is None:
                tree.pop(path, None)
            else:
                tree[path] = content
        sha = sha or f"{next(self._shas):040x}"
        commit = Commit(sha, message, author, author or "Someone", f"{author or 'someone'}@example.com", parents, tree)
        self.commits[(full_name, sha)] = commit
        if branch:
            repo.branches[branch] = sha
        return commit

    def add_pull(self, full_name: str, *, number: int, base: str, head: str, author: str, **fields: Any) -> Pull:
        repo = self.repos[full_name]
        base_sha, head_sha = repo.branches[base], repo.branches[head]
        commits = fields.pop("commits", None) or self.ancestry_between(full_name, base_sha, head_sha)
        title = fields.pop("title", f"Pull {number}")
        pull = Pull(number, full_name, title, author, base, head, base_sha, head_sha, commits)
        for key, value in fields.items():
            setattr(pull, key, value)
        self.pulls[(full_name, number)] = pull
        return pull

    def add_installation(self, installation_id: int, *, app_id: int, account: str, repos: list[str]) -> Installation:
        installation = Installation(installation_id, app_id, account, set(repos))
        self.installations[installation_id] = installation
        return installation

    def register_app(self, app_id: int, public_key_pem: bytes) -> None:
        """App JWTs signed by the matching private key authenticate as this app."""
        self.apps[app_id] = public_key_pem

    def add_marketplace_account(
        self, login: str, *, plan: str = "Pro", price_model: str = "PER_UNIT", unit_count: int = 10, trial: bool = False
    ) -> dict[str, Any]:
        account = self.accounts[login]
        data = {
            "url": f"https://api.github.com/orgs/{login}",
            "type": account.type,
            "id": account.id,
            "login": login,
            "marketplace_pending_change": None,
            "marketplace_purchase": {
                "billing_cycle": "monthly",
                "unit_count": unit_count,
                "on_free_trial": trial,
                "plan": {"id": 1, "name": plan, "price_model": price_model, "unit_name": "seat"},
            },
        }
        self.marketplace[account.id] = data
        return data

    # Queries
    def resolve(self, full_name: str, ref: str) -> str | None:
        """A branch name or sha to a known commit sha."""
        sha = self.repos[full_name].branches.get(ref, ref)
        return sha if (full_name, sha) in self.commits else None

    def ancestry_between(self, full_name: str, base_sha: str, head_sha: str) -> list[str]:
        """Commits reachable from head but not from base, oldest first."""
        excluded = self._reachable(full_name, base_sha)
        return [sha for sha in reversed(self._reachable(full_name, head_sha)) if sha not in excluded]

    def _reachable(self, full_name: str, sha: str) -> list[str]:
        seen: list[str] = []
        stack = [sha]
        while stack:
            current = stack.pop()
            if current in seen or (full_name, current) not in self.commits:
                continue
            seen.append(current)
            stack.extend(self.commits[(full_name, current)].parents)
        return seen

    def is_member(self, login: str, owner: str) -> bool:
        return login == owner or login in self.members.get(owner, set())

    def user_can_push(self, login: str, repo: Repo) -> bool:
        return self.is_member(login, repo.owner) or login in repo.collaborators
