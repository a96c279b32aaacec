"""Shared fixtures: the real PostgreSQL and Kafka started by scripts/test.sh, never mocks.

A test that cannot reach them fails with a message saying how to start them: nothing is skipped.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from stream_app.dbmigrate import upgrade
from stream_app.models import Base
from stream_app.storage import LocalStorage

PG_ADMIN_DSN = os.environ.get("STREAM_APP_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# One database per test session, so concurrent runs (a developer's and CI's) never collide.
TEST_DB = f"stream_app_test_{os.getpid()}"
TEST_DB_URL = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{TEST_DB}"
KAFKA_BOOTSTRAP = os.environ.get("STREAM_APP_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
HOW_TO_START = "start them with `bash scripts/test.sh` (or scripts/pg-local.sh start; scripts/kafka-local.sh start)"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _recreate_database() -> None:
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN} ({exc}); {HOW_TO_START}", pytrace=False)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database migrated by the project's own Alembic migrations."""
    asyncio.run(_recreate_database())
    upgrade(TEST_DB_URL)
    yield TEST_DB_URL
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url, poolclass=NullPool)
    async with eng.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield eng
    await eng.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "archive")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    yield KAFKA_BOOTSTRAP
