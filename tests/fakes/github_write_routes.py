"""The fake's status, comment and webhook endpoints under /repos/{owner}/{repo}."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes import github_render as render
from tests.fakes.github_auth import commit_of, principal, repo_of
from tests.fakes.github_http import ApiError, fake_of, not_found, paginate
from tests.fakes.github_state import Comment

STATES = {"error", "failure", "pending", "success"}


def _author(request: web.Request) -> str:
    who = principal(request)
    return who.login or "codecov-app[bot]"


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    return body


async def combined_status(request: web.Request) -> web.Response:
    fake, repo = fake_of(request), repo_of(request)
    commit = commit_of(request, repo, request.match_info["ref"])
    newest: dict[str, dict[str, Any]] = {}
    for status in fake.statuses.get((repo.full_name, commit.sha), []):
        newest[status["context"]] = status
    statuses = sorted(newest.values(), key=lambda s: s["context"])

    def wrap(chunk: list[Any]) -> dict[str, Any]:
        state = render.combined_state(statuses)
        return {"state": state, "sha": commit.sha, "total_count": len(statuses), "statuses": chunk}

    return paginate(request, statuses, wrap=wrap)


async def list_statuses(request: web.Request) -> web.Response:
    fake, repo = fake_of(request), repo_of(request)
    commit = commit_of(request, repo, request.match_info["ref"])
    return paginate(request, list(reversed(fake.statuses.get((repo.full_name, commit.sha), []))))


async def create_status(request: web.Request) -> web.Response:
    fake, repo, body = fake_of(request), repo_of(request, write=True), await _json(request)
    sha = request.match_info["sha"]
    if fake.resolve(repo.full_name, sha) != sha:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    if body.get("state") not in STATES or len(body.get("description") or "") > 140:
        raise ApiError(422, "Validation Failed")
    status = {
        "id": fake.next_id(),
        "state": body["state"],
        "description": body.get("description"),
        "target_url": body.get("target_url"),
        "context": body.get("context") or "default",
        "created_at": render.ISO_NOW,
        "updated_at": render.ISO_NOW,
        "creator": {"login": _author(request)},
    }
    fake.statuses.setdefault((repo.full_name, sha), []).append(status)
    return web.json_response(status, status=201)


async def create_comment(request: web.Request) -> web.Response:
    fake, repo, body = fake_of(request), repo_of(request, write=True), await _json(request)
    number = int(request.match_info["number"])
    if (repo.full_name, number) not in fake.pulls:
        raise not_found()
    comment = Comment(fake.next_id(), repo.full_name, number, str(body.get("body", "")), _author(request))
    fake.comments[comment.id] = comment
    return web.json_response(render.comment(fake, comment), status=201)


def _comment_of(request: web.Request) -> Comment:
    fake, repo = fake_of(request), repo_of(request, write=True)
    comment = fake.comments.get(int(request.match_info["comment_id"]))
    if comment is None or comment.repo != repo.full_name:
        raise not_found()
    return comment


async def edit_comment(request: web.Request) -> web.Response:
    comment, body = _comment_of(request), await _json(request)
    comment.body = str(body.get("body", ""))
    return web.json_response(render.comment(fake_of(request), comment))


async def delete_comment(request: web.Request) -> web.Response:
    del fake_of(request).comments[_comment_of(request).id]
    return web.Response(status=204)


async def list_hooks(request: web.Request) -> web.Response:
    repo = repo_of(request, write=True)
    return paginate(request, [render.hook(i, h) for i, h in sorted(repo.hooks.items())])


async def create_hook(request: web.Request) -> web.Response:
    fake, repo, body = fake_of(request), repo_of(request, write=True), await _json(request)
    if not (body.get("config") or {}).get("url"):
        raise ApiError(422, "Validation Failed")
    hook_id = fake.next_id()
    repo.hooks[hook_id] = body
    return web.json_response(render.hook(hook_id, body), status=201)


def _hook_id(request: web.Request) -> int:
    repo = repo_of(request, write=True)
    hook_id = int(request.match_info["hook_id"])
    if hook_id not in repo.hooks:
        raise not_found()
    return hook_id


async def get_hook(request: web.Request) -> web.Response:
    hook_id = _hook_id(request)
    return web.json_response(render.hook(hook_id, repo_of(request).hooks[hook_id]))


async def delete_hook(request: web.Request) -> web.Response:
    del repo_of(request).hooks[_hook_id(request)]
    return web.Response(status=204)


def register(router: web.UrlDispatcher, base: str) -> None:
    router.add_get(base + "/commits/{ref}/status", combined_status)
    router.add_get(base + "/commits/{ref}/statuses", list_statuses)
    router.add_post(base + "/statuses/{sha}", create_status)
    router.add_post(base + "/issues/{number:\\d+}/comments", create_comment)
    router.add_patch(base + "/issues/comments/{comment_id:\\d+}", edit_comment)
    router.add_delete(base + "/issues/comments/{comment_id:\\d+}", delete_comment)
    router.add_get(base + "/hooks", list_hooks)
    router.add_post(base + "/hooks", create_hook)
    router.add_get(base + "/hooks/{hook_id:\\d+}", get_hook)
    router.add_delete(base + "/hooks/{hook_id:\\d+}", delete_hook)
