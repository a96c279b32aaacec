"""The worker process: shared resources, one consumer per task type, the outbox relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import faust
import httpx

from stream_app.consumers import build_app
from stream_app.db import make_engine, make_session_factory
from stream_app.pipeline.context import Handler
from stream_app.pipeline.dispatch import OrderedDispatcher
from stream_app.pipeline.processing import RecordProcessor
from stream_app.pipeline.publisher import KafkaPublisher
from stream_app.pipeline.relay import OutboxRelay
from stream_app.settings import Settings
from stream_app.storage import open_storage

log = logging.getLogger(__name__)


@dataclass
class _Consumer:
    task: str
    app: faust.App
    dispatcher: OrderedDispatcher


class Worker:
    def __init__(self, settings: Settings, handlers: Mapping[str, Handler], *, drain_seconds: float = 10.0) -> None:
        self.settings = settings
        self.handlers = dict(handlers)
        self.drain_seconds = drain_seconds
        self.engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        self.sessions = make_session_factory(self.engine)
        self.storage = open_storage(settings.storage_url)
        self.publisher = KafkaPublisher(settings.kafka_bootstrap)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        self.relay = OutboxRelay(self.sessions, self.publisher, interval=settings.relay_interval_seconds)
        self._closing = asyncio.Event()
        self._consumers: list[_Consumer] = []
        self._relay_task: asyncio.Task[None] | None = None

    def _consumer(self, task: str, handler: Handler) -> _Consumer:
        processor = RecordProcessor(
            task=task,
            handler=handler,
            sessions=self.sessions,
            storage=self.storage,
            publisher=self.publisher,
            settings=self.settings,
            http=self.http,
            on_follow_ups=self.relay.wake,
        )
        dispatcher = OrderedDispatcher(processor.process, max_in_flight=self.settings.max_in_flight)
        return _Consumer(task, build_app(task, self.settings, dispatcher, self._closing), dispatcher)

    async def start(self) -> None:
        await self.publisher.start()
        self._relay_task = asyncio.create_task(self.relay.run())
        self._consumers = [self._consumer(task, handler) for task, handler in self.handlers.items()]
        for consumer in self._consumers:
            consumer.app.finalize()
        # Each App joins its own group (about a second each): join them all at once.
        await asyncio.gather(*(consumer.app.start() for consumer in self._consumers))

    async def stop(self) -> None:
        self._closing.set()
        drained = await asyncio.gather(*(c.dispatcher.drain(self.drain_seconds) for c in self._consumers))
        if not all(drained):
            log.warning("stopped with unfinished records; they are redelivered on restart")
        for consumer in self._consumers:
            await consumer.app.stop()  # commits the acked offsets
        if self._relay_task is not None:
            self._relay_task.cancel()
            await asyncio.gather(self._relay_task, return_exceptions=True)
        await self.publisher.stop()
        await self.http.aclose()
        aclose = getattr(self.storage, "aclose", None)  # S3 keeps a client; a directory does not
        if aclose is not None:
            await aclose()
        await self.engine.dispose()
