"""The async engine and session factory. No queries here."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SessionFactory = async_sessionmaker[AsyncSession]


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # No pre-ping (a round trip per checkout): after a PostgreSQL restart the first statement on a
    # stale connection fails, the pool invalidates it, and the pipeline runs the record again.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
