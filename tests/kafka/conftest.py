"""Fixtures for tests on the real broker: fresh topics and groups per test, a worker in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from stream_app.ops.topics import create_topics
from stream_app.pipeline.context import Handler
from stream_app.settings import Settings
from stream_app.worker import Worker
from tests.support.kafka import unique
from tests.support.probe import TASK, create_probe_table, probe

pytestmark = [pytest.mark.kafka, pytest.mark.db]

WorkerFactory = Callable[..., AbstractAsyncContextManager[Worker]]


@pytest.fixture
async def settings(kafka_bootstrap: str, database_url: str, engine: AsyncEngine, tmp_path: Path) -> Settings:
    await create_probe_table(engine)
    s = Settings(
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        topic_prefix=unique("t") + ".",
        group_id=unique("g"),
        partitions=4,
        storage_url=f"file://{tmp_path}/archive",
        commit_interval_seconds=0.2,
        relay_interval_seconds=0.1,
        retry_base_seconds=0.2,
        inline_wait_seconds=0.5,
    )
    await create_topics(s, tasks=[TASK])
    return s


@pytest.fixture
def run_worker(settings: Settings) -> WorkerFactory:
    @asynccontextmanager
    async def run(handlers: Mapping[str, Handler] | None = None, **overrides: object) -> AsyncIterator[Worker]:
        s = settings.model_copy(update=overrides) if overrides else settings
        worker = Worker(s, handlers or {TASK: probe}, drain_seconds=5.0)
        await worker.start()
        try:
            yield worker
        finally:
            await worker.stop()

    return run
