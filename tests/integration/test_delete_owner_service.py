"""DeleteOwner's service against real PostgreSQL and a local archive directory."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stream_app.models import Commit, Owner, Pull, Repo
from stream_app.services.owners import delete_owner
from stream_app.storage import LocalStorage
from tests.factories import SeededRepo, count_coverage_rows, create_owner, create_repo, seed_repo_coverage

pytestmark = pytest.mark.db

SEEDED = {"commits": 3, "uploads": 5, "commit_notifications": 1, "branches": 2, "pulls": 1}
NOTHING = {"commits": 0, "uploads": 0, "commit_notifications": 0, "branches": 0, "pulls": 0}
TWO_REPOS_DELETED = {
    "commits": 6,
    "uploads": 10,
    "commit_notifications": 2,
    "branches": 4,
    "pulls": 2,
    "repos": 2,
    "owners": 1,
}
ALL_UNLINKED = {
    "organizations": 1,
    "admins": 1,
    "plan_activated_users": 1,
    "owner_bots": 1,
    "repo_bots": 1,
    "commit_authors": 1,
    "pull_authors": 1,
}


class Crash(Exception):
    pass


@dataclass(frozen=True)
class World:
    ownerid: int  # the owner to delete
    owned: list[SeededRepo]
    outsider: int  # an unrelated org
    user: int  # member of the owner (an org) and of the outsider
    org: int  # lists the owner as admin and activated user
    botted: int  # another owner using the owner as its bot
    other: SeededRepo  # botted's repo: bot, a commit author and a pull author are the owner


async def _seed_world(session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage) -> World:
    async with session_factory.begin() as s:
        ownerid = await create_owner(s)
        owned = [await seed_repo_coverage(s, storage, repoid=await create_repo(s, ownerid=ownerid)) for _ in range(2)]
        await s.execute(update(Repo).where(Repo.repoid == owned[0].repoid).values(bot=ownerid))
        outsider = await create_owner(s)
        user = await create_owner(s, organizations=[ownerid, outsider])
        org = await create_owner(s, admins=[ownerid], plan_activated_users=[user, ownerid])
        botted = await create_owner(s, bot=ownerid)
        other = await seed_repo_coverage(s, storage, repoid=await create_repo(s, ownerid=botted, bot=ownerid))
        await s.execute(update(Commit).where(Commit.id == other.commit_ids[0]).values(author=ownerid))
        await s.execute(update(Pull).where(Pull.repoid == other.repoid).values(author=ownerid))
        return World(ownerid, owned, outsider, user, org, botted, other)


async def _owner_row(session: AsyncSession, ownerid: int) -> tuple[object, ...]:
    columns = (Owner.organizations, Owner.admins, Owner.plan_activated_users, Owner.bot)
    return tuple((await session.execute(select(*columns).where(Owner.ownerid == ownerid))).one())


async def test_delete_owner_deletes_its_repos_coverage_and_files(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given an owner with two repos holding coverage data, and references to it elsewhere
    world = await _seed_world(session_factory, storage)

    # When it is deleted
    async with session_factory.begin() as s:
        result = await delete_owner(s, storage, ownerid=world.ownerid)

    # Then everything it owned is gone, counted exactly
    assert result == {
        "ownerid": world.ownerid,
        "deleted": {**TWO_REPOS_DELETED, "files": 12},
        "unlinked": ALL_UNLINKED,
    }
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Owner).where(Owner.ownerid == world.ownerid)) == 0
        assert await s.scalar(select(func.count()).select_from(Repo).where(Repo.ownerid == world.ownerid)) == 0
        for repo in world.owned:
            assert await count_coverage_rows(s, repoid=repo.repoid) == NOTHING
    assert [path for repo in world.owned for path in repo.files if await storage.exists(path)] == []


async def test_delete_owner_unlinks_it_and_keeps_other_owners_data(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given an owner referenced by other owners, their repo, commit and pull
    world = await _seed_world(session_factory, storage)

    # When it is deleted
    async with session_factory.begin() as s:
        await delete_owner(s, storage, ownerid=world.ownerid)

    # Then the references are removed and the other owners' data is intact
    async with session_factory() as s:
        assert (await _owner_row(s, world.user))[0] == [world.outsider]
        assert await _owner_row(s, world.org) == (None, [], [world.user], None)
        assert (await _owner_row(s, world.botted))[3] is None
        assert await s.scalar(select(Repo.bot).where(Repo.repoid == world.other.repoid)) is None
        assert await s.scalar(select(func.count()).select_from(Commit).where(Commit.author.is_not(None))) == 0
        assert await s.scalar(select(func.count()).select_from(Pull).where(Pull.author.is_not(None))) == 0
        assert await count_coverage_rows(s, repoid=world.other.repoid) == SEEDED
    assert all([await storage.exists(path) for path in world.other.files])


async def test_delete_owner_reports_a_missing_owner(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    async with session_factory.begin() as s:
        result = await delete_owner(s, storage, ownerid=404)

    assert result == {"reason": "owner_not_found"}


async def test_delete_owner_twice_is_a_no_op(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given an owner deleted once
    world = await _seed_world(session_factory, storage)
    async with session_factory.begin() as s:
        await delete_owner(s, storage, ownerid=world.ownerid)

    # When it is deleted again
    async with session_factory.begin() as s:
        result = await delete_owner(s, storage, ownerid=world.ownerid)

    # Then nothing else changes
    assert result == {"reason": "owner_not_found"}
    async with session_factory() as s:
        assert await count_coverage_rows(s, repoid=world.other.repoid) == SEEDED


async def test_delete_owner_finishes_after_a_rollback_that_followed_the_file_deletes(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    # Given a deletion whose transaction rolled back after the owner's files were deleted
    world = await _seed_world(session_factory, storage)
    with pytest.raises(Crash):
        async with session_factory.begin() as s:
            await delete_owner(s, storage, ownerid=world.ownerid)
            raise Crash
    async with session_factory() as s:
        assert await count_coverage_rows(s, repoid=world.owned[0].repoid) == SEEDED
        assert (await _owner_row(s, world.botted))[3] == world.ownerid
    assert [path for repo in world.owned for path in repo.files if await storage.exists(path)] == []

    # When it runs again
    async with session_factory.begin() as s:
        result = await delete_owner(s, storage, ownerid=world.ownerid)

    # Then the database work completes; the files were already gone
    assert result == {
        "ownerid": world.ownerid,
        "deleted": {**TWO_REPOS_DELETED, "files": 0},
        "unlinked": ALL_UNLINKED,
    }


async def test_delete_owner_without_repos_deletes_only_the_owner(
    session_factory: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    async with session_factory.begin() as s:
        ownerid = await create_owner(s)

    async with session_factory.begin() as s:
        result = await delete_owner(s, storage, ownerid=ownerid)

    assert result["deleted"] == {**NOTHING, "files": 0, "repos": 0, "owners": 1}
    assert set(result["unlinked"].values()) == {0}
