"""The fake's account-level endpoints: /user, orgs, repo listings, the app and the marketplace."""

from __future__ import annotations

from aiohttp import web

from tests.fakes import github_render as render
from tests.fakes.github_auth import mint_installation_token, require_app, require_installation, require_user
from tests.fakes.github_http import ApiError, fake_of, not_found, paginate


async def get_user(request: web.Request) -> web.Response:
    login = require_user(request)
    return web.json_response(render.user(fake_of(request).accounts[login], full=True))


async def list_user_orgs(request: web.Request) -> web.Response:
    fake, login = fake_of(request), require_user(request)
    orgs = [fake.accounts[org] for org, members in sorted(fake.members.items()) if login in members]
    return paginate(request, [render.org_summary(org) for org in orgs])


async def get_org(request: web.Request) -> web.Response:
    org = fake_of(request).accounts.get(request.match_info["org"])
    if org is None or org.type != "Organization":
        raise not_found()
    return web.json_response(render.user(org, full=True))


async def list_user_repos(request: web.Request) -> web.Response:
    fake, login = fake_of(request), require_user(request)
    visible = [r for name, r in sorted(fake.repos.items()) if fake.user_can_push(login, r)]
    return paginate(request, [render.repo(fake, r, viewer=login) for r in visible])


async def list_installation_repos(request: web.Request) -> web.Response:
    fake, installation = fake_of(request), require_installation(request)
    repos = [render.repo(fake, fake.repos[name]) for name in sorted(installation.repos) if name in fake.repos]

    def wrap(chunk: list[object]) -> dict[str, object]:
        return {"total_count": len(repos), "repository_selection": "selected", "repositories": chunk}

    return paginate(request, repos, wrap=wrap)


async def create_installation_token(request: web.Request) -> web.Response:
    fake, app_id = fake_of(request), require_app(request)
    installation = fake.installations.get(int(request.match_info["installation_id"]))
    if installation is None or installation.app_id != app_id:
        raise not_found()
    token, expires_at = mint_installation_token(fake, installation)
    body = {
        "token": token,
        "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "permissions": {"contents": "read", "statuses": "write", "pull_requests": "write"},
        "repository_selection": "selected",
    }
    return web.json_response(body, status=201)


async def get_marketplace_account(request: web.Request) -> web.Response:
    require_app(request)
    try:
        account = fake_of(request).marketplace[int(request.match_info["account_id"])]
    except (KeyError, ValueError):
        raise ApiError(404, "Not Found") from None
    return web.json_response(account)


def register(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_get(prefix + "/user", get_user)
    router.add_get(prefix + "/user/orgs", list_user_orgs)
    router.add_get(prefix + "/user/repos", list_user_repos)
    router.add_get(prefix + "/orgs/{org}", get_org)
    router.add_get(prefix + "/installation/repositories", list_installation_repos)
    router.add_post(prefix + "/app/installations/{installation_id}/access_tokens", create_installation_token)
    router.add_get(prefix + "/marketplace_listing/accounts/{account_id}", get_marketplace_account)
