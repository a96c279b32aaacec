"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.models import Base

pytestmark = pytest.mark.db


async def test_migrated_database_matches_the_models(engine: AsyncEngine) -> None:
    def diff(conn: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    # Tables the models do not know (e.g. a test's probe table) are not the migrations' business.
    assert [d for d in differences if not (isinstance(d, tuple) and d[0] == "remove_table")] == []
