"""The fake's read endpoints under /repos/{owner}/{repo}: metadata, branches, pulls, commits, files."""

from __future__ import annotations

import base64
import hashlib

from aiohttp import web

from tests.fakes import github_render as render
from tests.fakes import github_write_routes
from tests.fakes.github_auth import commit_of, principal, repo_of
from tests.fakes.github_http import fake_of, not_found, paginate

LARGE_FILE = 1024 * 1024  # GitHub leaves larger files' content out of the JSON


async def get_repo(request: web.Request) -> web.Response:
    repo, who = repo_of(request), principal(request)
    return web.json_response(render.repo(fake_of(request), repo, viewer=who.login, with_parent=True))


async def list_branches(request: web.Request) -> web.Response:
    repo = repo_of(request)
    items = [{"name": n, "commit": {"sha": s}, "protected": False} for n, s in sorted(repo.branches.items())]
    return paginate(request, items)


async def list_pulls(request: web.Request) -> web.Response:
    fake, repo = fake_of(request), repo_of(request)
    state = request.query.get("state", "open")
    pulls = [p for (name, _), p in sorted(fake.pulls.items()) if name == repo.full_name]
    return paginate(request, [render.pull(fake, p) for p in pulls if state in ("all", p.state)])


async def get_pull(request: web.Request) -> web.Response:
    fake, repo = fake_of(request), repo_of(request)
    pull = fake.pulls.get((repo.full_name, int(request.match_info["number"])))
    if pull is None:
        raise not_found()
    return web.json_response(render.pull(fake, pull, single=True))


async def list_pull_commits(request: web.Request) -> web.Response:
    fake, repo = fake_of(request), repo_of(request)
    pull = fake.pulls.get((repo.full_name, int(request.match_info["number"])))
    if pull is None:
        raise not_found()
    return paginate(request, [render.commit(fake, fake.commits[(repo.full_name, sha)]) for sha in pull.commits])


async def commit_pulls(request: web.Request) -> web.Response:
    fake, repo = fake_of(request), repo_of(request)
    sha = request.match_info["sha"]
    pulls = [p for (name, _), p in sorted(fake.pulls.items()) if name == repo.full_name and sha in p.commits]
    return paginate(request, [render.pull(fake, p) for p in pulls])


async def get_commit(request: web.Request) -> web.Response:
    repo = repo_of(request)
    return web.json_response(render.commit(fake_of(request), commit_of(request, repo, request.match_info["sha"])))


async def compare(request: web.Request) -> web.Response:
    fake, repo = fake_of(request), repo_of(request)
    base_ref, _, head_ref = request.match_info["basehead"].partition("...")
    base, head = commit_of(request, repo, base_ref), commit_of(request, repo, head_ref)
    commits = fake.ancestry_between(repo.full_name, base.sha, head.sha)
    files = fake.compare_files.get((repo.full_name, base.sha, head.sha)) or render.diff_files(base, head)
    body = {
        "status": "ahead" if commits else "identical",
        "ahead_by": len(commits),
        "behind_by": 0,
        "total_commits": len(commits),
        "base_commit": render.commit(fake, base),
        "merge_base_commit": render.commit(fake, base),
        "commits": [render.commit(fake, fake.commits[(repo.full_name, sha)]) for sha in commits],
        "files": files,
    }
    return web.json_response(body)


def _file_json(path: str, content: bytes) -> dict[str, object]:
    large = len(content) > LARGE_FILE
    encoded = base64.encodebytes(content).decode()  # GitHub wraps base64 at 60-76 characters too
    return {
        "type": "file",
        "encoding": "none" if large else "base64",
        "size": len(content),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": "" if large else encoded,
        "sha": hashlib.sha1(content).hexdigest(),
    }


async def get_contents(request: web.Request) -> web.StreamResponse:
    repo = repo_of(request)
    files = commit_of(request, repo, request.query.get("ref")).files
    path = request.match_info.get("path", "").strip("/")
    if path in files:
        if "raw" in request.headers.get("Accept", ""):
            return web.Response(body=files[path], content_type="application/vnd.github.raw")
        return web.json_response(_file_json(path, files[path]))
    prefix = f"{path}/" if path else ""
    children: dict[str, str] = {}
    for name in files:
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            children[prefix + rest.split("/")[0]] = "dir" if "/" in rest else "file"
    if not children:
        raise not_found()
    entries = [{"type": kind, "name": p.rsplit("/", 1)[-1], "path": p} for p, kind in sorted(children.items())]
    return web.json_response(entries)


async def get_tree(request: web.Request) -> web.Response:
    repo = repo_of(request)
    commit = commit_of(request, repo, request.match_info["ref"])
    dirs = {"/".join(p.split("/")[:i]) for p in commit.files for i in range(1, p.count("/") + 1)}
    tree: list[dict[str, str | int]] = [{"path": d, "mode": "040000", "type": "tree"} for d in sorted(dirs)]
    tree += [{"path": p, "mode": "100644", "type": "blob", "size": len(c)} for p, c in sorted(commit.files.items())]
    return web.json_response({"sha": commit.sha, "tree": tree, "truncated": False})


def register(router: web.UrlDispatcher, prefix: str) -> None:
    base = prefix + "/repos/{owner}/{repo}"
    router.add_get(base, get_repo)
    router.add_get(base + "/branches", list_branches)
    router.add_get(base + "/pulls", list_pulls)
    router.add_get(base + "/pulls/{number:\\d+}", get_pull)
    router.add_get(base + "/pulls/{number:\\d+}/commits", list_pull_commits)
    router.add_get(base + "/commits/{sha}/pulls", commit_pulls)
    router.add_get(base + "/commits/{sha}", get_commit)
    router.add_get(base + "/compare/{basehead}", compare)
    router.add_get(base + "/contents", get_contents)
    router.add_get(base + "/contents/{path:.+}", get_contents)
    router.add_get(base + "/git/trees/{ref}", get_tree)
    github_write_routes.register(router, base)
