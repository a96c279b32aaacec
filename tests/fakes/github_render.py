"""The fake's objects as GitHub REST v3 JSON, with GitHub's own field names."""

from __future__ import annotations

import difflib
from typing import Any

from tests.fakes.github_state import NOW, Account, Comment, Commit, GitHubState, Pull, Repo

ISO_NOW = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


def user(account: Account, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "login": account.login,
        "id": account.id,
        "node_id": f"U_{account.id}",
        "avatar_url": account.avatar_url,
        "type": account.type,
        "site_admin": False,
    }
    if full:
        data.update(name=account.name, email=account.email, created_at=ISO_NOW, updated_at=ISO_NOW)
    return data


def org_summary(org: Account) -> dict[str, Any]:
    return {"login": org.login, "id": org.id, "avatar_url": org.avatar_url, "description": None}


def repo(state: GitHubState, r: Repo, *, viewer: str | None = None, with_parent: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": r.id,
        "node_id": f"R_{r.id}",
        "name": r.name,
        "full_name": r.full_name,
        "private": r.private,
        "visibility": "private" if r.private else "public",
        "owner": user(state.accounts[r.owner]),
        "fork": r.fork_of is not None,
        "language": r.language,
        "default_branch": r.default_branch,
        "archived": False,
        "updated_at": ISO_NOW,
    }
    if viewer is not None:
        push = state.user_can_push(viewer, r)
        data["permissions"] = {"admin": push, "maintain": push, "push": push, "triage": push, "pull": True}
    if with_parent and r.fork_of is not None:
        data["parent"] = repo(state, state.repos[r.fork_of])
        data["source"] = data["parent"]
    return data


def commit(state: GitHubState, c: Commit) -> dict[str, Any]:
    author = state.accounts.get(c.author) if c.author else None
    date = c.date.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "sha": c.sha,
        "node_id": f"C_{c.sha}",
        "commit": {
            "message": c.message,
            "author": {"name": c.author_name, "email": c.author_email, "date": date},
            "committer": {"name": c.author_name, "email": c.author_email, "date": date},
        },
        "author": user(author) if author else None,
        "committer": user(author) if author else None,
        "parents": [{"sha": p} for p in c.parents],
    }


def pull(state: GitHubState, p: Pull, *, single: bool = False) -> dict[str, Any]:
    r = state.repos[p.repo]
    data: dict[str, Any] = {
        "id": p.number * 1000 + r.id,
        "number": p.number,
        "state": p.state,
        "title": p.title,
        "user": user(state.accounts[p.author]),
        "base": {"ref": p.base, "sha": p.base_sha, "label": f"{r.owner}:{p.base}", "repo": repo(state, r)},
        "head": {"ref": p.head, "sha": p.head_sha, "label": f"{r.owner}:{p.head}", "repo": repo(state, r)},
        "merged_at": ISO_NOW if p.merged else None,
        "merge_commit_sha": p.merge_commit_sha,
        "updated_at": ISO_NOW,
    }
    if single:
        data["merged"] = p.merged
    return data


def comment(state: GitHubState, c: Comment) -> dict[str, Any]:
    author = state.accounts.get(c.author) or Account(1, c.author, "Bot")
    return {"id": c.id, "body": c.body, "user": user(author), "created_at": ISO_NOW, "updated_at": ISO_NOW}


def hook(hook_id: int, data: dict[str, Any]) -> dict[str, Any]:
    config = {**data.get("config", {}), "secret": "********"} if data.get("config", {}).get("secret") else {}
    return {
        "type": "Repository",
        "id": hook_id,
        "name": "web",
        "active": data.get("active", True),
        "events": data.get("events", ["push"]),
        "config": config or data.get("config", {}),
        "created_at": ISO_NOW,
        "updated_at": ISO_NOW,
    }


def combined_state(statuses: list[dict[str, Any]]) -> str:
    states = {s["state"] for s in statuses}
    if states & {"error", "failure"}:
        return "failure"
    if not states or "pending" in states:
        return "pending"
    return "success"


def diff_files(base: Commit, head: Commit) -> list[dict[str, Any]]:
    """GitHub's compare `files`: status and a unified-diff `patch` per changed file."""
    files = []
    for path in sorted(set(base.files) | set(head.files)):
        before, after = base.files.get(path), head.files.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "modified"
        old = (before or b"").decode().splitlines()
        new = (after or b"").decode().splitlines()
        lines = list(difflib.unified_diff(old, new, lineterm="", n=3))[2:]  # drop the ---/+++ header
        additions = sum(line.startswith("+") for line in lines)
        deletions = sum(line.startswith("-") for line in lines)
        files.append(
            {
                "filename": path,
                "status": status,
                "additions": additions,
                "deletions": deletions,
                "changes": additions + deletions,
                "patch": "\n".join(lines),
            }
        )
    return files
