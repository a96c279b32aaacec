"""GitHub REST v3 JSON to the provider types. Pure functions over GitHub's own field names."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from stream_app.providers.diff import changed_lines
from stream_app.providers.types import (
    CommentInfo,
    CommitAuthor,
    CommitInfo,
    FileChange,
    FileDiff,
    HookInfo,
    MarketplaceAccount,
    OwnerInfo,
    PullInfo,
    RepoInfo,
    StatusInfo,
    StatusState,
    UserRef,
)

Json = dict[str, Any]
_FILE_CHANGES: dict[str, FileChange] = {
    "added": "added",
    "removed": "removed",
    "modified": "modified",
    "changed": "modified",
    "renamed": "renamed",
    "copied": "added",
}


def timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def user_ref(data: Json | None) -> UserRef | None:
    return UserRef(str(data["id"]), data["login"]) if data else None


def owner_info(data: Json) -> OwnerInfo:
    return OwnerInfo(
        service_id=str(data["id"]),
        username=data["login"],
        name=data.get("name"),
        email=data.get("email"),
        avatar_url=data.get("avatar_url"),
        is_org=data.get("type") == "Organization",
    )


def repo_info(data: Json) -> RepoInfo:
    permissions = data.get("permissions")
    parent = data.get("parent")
    return RepoInfo(
        service_id=str(data["id"]),
        name=data["name"],
        owner=UserRef(str(data["owner"]["id"]), data["owner"]["login"]),
        private=bool(data.get("private")),
        language=data.get("language"),
        default_branch=data.get("default_branch"),
        fork=bool(data.get("fork")),
        parent=repo_info(parent) if parent else None,
        can_push=bool(permissions.get("push") or permissions.get("admin")) if permissions else None,
    )


def pull_info(data: Json) -> PullInfo:
    merged = bool(data.get("merged") or data.get("merged_at"))
    return PullInfo(
        number=int(data["number"]),
        state="merged" if merged else ("open" if data["state"] == "open" else "closed"),
        title=data.get("title"),
        base_branch=data["base"]["ref"],
        base_sha=data["base"]["sha"],
        head_branch=data["head"]["ref"],
        head_sha=data["head"]["sha"],
        author=user_ref(data.get("user")),
        merge_commit_sha=data.get("merge_commit_sha"),
        updated_at=timestamp(data.get("updated_at")),
    )


def commit_info(data: Json) -> CommitInfo:
    git_author = data["commit"].get("author") or {}
    user = data.get("author") or {}
    return CommitInfo(
        sha=data["sha"],
        message=data["commit"].get("message") or "",
        parents=tuple(p["sha"] for p in data.get("parents", [])),
        author=CommitAuthor(
            service_id=str(user["id"]) if user.get("id") is not None else None,
            username=user.get("login"),
            name=git_author.get("name"),
            email=git_author.get("email"),
        ),
        timestamp=timestamp(git_author.get("date")),
    )


def status_info(data: Json) -> StatusInfo:
    return StatusInfo(
        context=data.get("context") or "default",
        state=cast(StatusState, data["state"]),
        description=data.get("description"),
        target_url=data.get("target_url"),
        updated_at=timestamp(data.get("updated_at")),
    )


def comment_info(data: Json) -> CommentInfo:
    return CommentInfo(id=str(data["id"]), body=data.get("body") or "", author=user_ref(data.get("user")))


def hook_info(data: Json) -> HookInfo:
    return HookInfo(
        id=str(data["id"]),
        url=(data.get("config") or {}).get("url"),
        events=tuple(data.get("events", [])),
        active=bool(data.get("active")),
    )


def file_diff(data: Json) -> FileDiff:
    patch = data.get("patch")
    change = _FILE_CHANGES.get(data.get("status", ""), "modified")
    if patch is None:
        return FileDiff(data["filename"], data.get("previous_filename"), change, (), (), patch_missing=True)
    added, removed = changed_lines(patch)
    return FileDiff(data["filename"], data.get("previous_filename"), change, added, removed)


def marketplace_account(data: Json) -> MarketplaceAccount:
    purchase = data.get("marketplace_purchase") or {}
    plan = purchase.get("plan") or {}
    return MarketplaceAccount(
        service_id=str(data["id"]),
        username=data["login"],
        is_org=data.get("type") == "Organization",
        plan_name=plan.get("name"),
        price_model=plan.get("price_model"),
        unit_count=purchase.get("unit_count"),
        on_free_trial=bool(purchase.get("on_free_trial")),
    )
