"""The GitHub client's repo reads against the fake GitHub: metadata, branches, pulls, commits, files."""

from __future__ import annotations

import httpx
import pytest

from stream_app.providers.errors import ProviderNotFound
from stream_app.providers.types import BranchInfo, FileEntry, RepoRef
from tests.integration.providers.conftest import World


async def test_get_repo_with_fork_parent_and_push_permission(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.add_repo("alice/widgets", fork_of="acme/widgets", language="go")

    fork = await world.client(provider_http).get_repo(RepoRef("alice", "widgets"))

    assert fork.fork and fork.parent is not None
    assert fork.parent.ref.slug == "acme/widgets"
    assert fork.parent.private is True
    assert (fork.language, fork.can_push, fork.owner.username) == ("go", True, "alice")
    assert fork.service_id == str(world.gh.repos["alice/widgets"].id)


async def test_a_private_repo_the_token_cannot_see_is_not_found(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotFound):
        await world.client(provider_http, token="gho_bob_token").get_repo(world.repo)


async def test_branches_across_pages(world: World, provider_http: httpx.AsyncClient) -> None:
    for n in range(5):
        world.gh.add_commit("acme/widgets", branch=f"b{n}", parents=[world.base_sha])

    branches = await world.client(provider_http, per_page=2).list_branches(world.repo)

    assert len(branches) == 7
    assert BranchInfo("main", world.base_sha) in branches
    assert BranchInfo("feature", world.head_sha) in branches
    assert world.gh.count("GET", "/repos/acme/widgets/branches") == 4


async def test_open_pulls_and_one_pull(world: World, provider_http: httpx.AsyncClient) -> None:
    world.gh.add_commit("acme/widgets", branch="old", parents=[world.base_sha])
    world.gh.add_pull("acme/widgets", number=2, base="main", head="old", author="bob", state="closed", merged=True)
    client = world.client(provider_http)

    [open_pull] = await client.list_pulls(world.repo)
    merged = await client.get_pull(world.repo, 2)
    every = await client.list_pulls(world.repo, state="all")

    assert (open_pull.number, open_pull.state, open_pull.title) == (1, "open", "Change b")
    assert (open_pull.base_branch, open_pull.base_sha) == ("main", world.base_sha)
    assert (open_pull.head_branch, open_pull.head_sha) == ("feature", world.head_sha)
    assert open_pull.author is not None and open_pull.author.username == "alice"
    assert merged.state == "merged"
    assert [p.number for p in every] == [1, 2]


async def test_a_missing_pull_is_not_found(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotFound):
        await world.client(provider_http).get_pull(world.repo, 99)


async def test_pull_commits_and_pulls_for_a_commit(world: World, provider_http: httpx.AsyncClient) -> None:
    second = world.gh.add_commit("acme/widgets", branch="feature", message="more")
    world.gh.pulls[("acme/widgets", 1)].commits.append(second.sha)
    client = world.client(provider_http, per_page=1)

    commits = await client.list_pull_commits(world.repo, 1)
    pulls = await client.find_pulls_for_commit(world.repo, second.sha)

    assert commits == [world.head_sha, second.sha]
    assert [p.number for p in pulls] == [1]
    assert await client.find_pulls_for_commit(world.repo, world.base_sha) == []


async def test_compare_gives_commits_and_changed_lines(world: World, provider_http: httpx.AsyncClient) -> None:
    comparison = await world.client(provider_http).compare(world.repo, world.base_sha, world.head_sha)

    assert comparison.commits == (world.head_sha,)
    [diff] = comparison.files
    assert (diff.path, diff.change, diff.patch_missing) == ("src/app.py", "modified", False)
    assert diff.added == (2, 4)  # b changed, d added
    assert diff.removed == (2,)


async def test_compare_of_added_removed_and_patchless_files(world: World, provider_http: httpx.AsyncClient) -> None:
    head = world.gh.add_commit("acme/widgets", parents=[world.head_sha], files={"new.py": b"x\ny\n", "README.md": None})
    world.gh.compare_files[("acme/widgets", world.head_sha, head.sha)] = [
        {"filename": "logo.png", "status": "added", "additions": 0, "deletions": 0, "changes": 0}
    ]
    client = world.client(provider_http)

    computed = await client.compare(world.repo, world.base_sha, head.sha)
    given = await client.compare(world.repo, world.head_sha, head.sha)

    changes = {d.path: (d.change, d.added, d.removed) for d in computed.files}
    assert changes["new.py"] == ("added", (1, 2), ())
    assert changes["README.md"] == ("removed", (), (1,))
    assert given.files[0].patch_missing


async def test_get_commit(world: World, provider_http: httpx.AsyncClient) -> None:
    commit = await world.client(provider_http).get_commit(world.repo, world.base_sha)

    assert (commit.sha, commit.message, commit.parents) == (world.base_sha, "initial", ())
    assert commit.author.username == "alice"
    assert commit.author.service_id == str(world.gh.accounts["alice"].id)
    assert commit.author.email == "alice@example.com"
    assert commit.timestamp is not None


async def test_a_missing_commit_is_not_found(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotFound):
        await world.client(provider_http).get_commit(world.repo, "f" * 40)


async def test_file_content_at_a_ref(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http)

    assert await client.get_file(world.repo, "src/app.py", ref="main") == b"a = 1\nb = 2\nc = 3\n"
    assert await client.get_file(world.repo, "src/app.py", ref=world.head_sha) == b"a = 1\nb = 20\nc = 3\nd = 4\n"


async def test_a_missing_file_or_a_directory_is_none(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http)

    assert await client.get_file(world.repo, "codecov.yml", ref="main") is None
    assert await client.get_file(world.repo, "src", ref="main") is None
    assert await client.get_file(world.repo, "src/app.py", ref="no-such-branch") is None


async def test_a_large_file_is_fetched_raw(world: World, provider_http: httpx.AsyncClient) -> None:
    big = b"x" * (1024 * 1024 + 10)
    world.gh.add_commit("acme/widgets", branch="main", files={"big.txt": big})

    assert await world.client(provider_http).get_file(world.repo, "big.txt", ref="main") == big
    assert world.gh.count("GET", "/repos/acme/widgets/contents/big.txt") == 2


async def test_top_level_files_directories_and_the_whole_tree(world: World, provider_http: httpx.AsyncClient) -> None:
    client = world.client(provider_http)

    top = await client.list_top_level_files(world.repo, ref="main")
    github_dir = await client.list_directory(world.repo, ".github", ref="main")
    tree = await client.list_files(world.repo, ref=world.head_sha)

    assert top == [FileEntry(".github", "dir"), FileEntry("README.md", "file"), FileEntry("src", "dir")]
    assert github_dir == [FileEntry(".github/ci.yml", "file")]
    assert sorted(tree) == [".github/ci.yml", "README.md", "src/app.py"]


async def test_listing_a_file_as_a_directory_is_not_found(world: World, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotFound):
        await world.client(provider_http).list_directory(world.repo, "README.md", ref="main")
