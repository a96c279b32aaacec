"""The worker process: shared resources, one consumer per task type, the outbox relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass

import faust
import httpx

from stream_app.consumers import build_app
from stream_app.db import make_engine, make_session_factory
from stream_app.ops.kafka_admin import TopicsMissing, missing_topics
from stream_app.ops.topics import all_topics
from stream_app.pipeline.context import Handler
from stream_app.pipeline.dispatch import OrderedDispatcher
from stream_app.pipeline.failures import is_infrastructure_down
from stream_app.pipeline.processing import RecordProcessor
from stream_app.pipeline.publisher import KafkaPublisher
from stream_app.pipeline.relay import OutboxRelay
from stream_app.settings import Settings
from stream_app.storage import open_storage

log = logging.getLogger(__name__)

# Kafka not answering at start-up: try again after 0.5 s, doubling up to 10 s, until it answers.
START_RETRY_FIRST_SECONDS = 0.5
START_RETRY_MAX_SECONDS = 10.0
_APP_STOP_SECONDS = 15.0


@dataclass
class _Consumer:
    task: str
    app: faust.App
    dispatcher: OrderedDispatcher


class Worker:
    """start(), then stop(). request_stop() (a signal handler) ends a start still waiting for Kafka.

    A start() that raises (e.g. TopicsMissing) has closed everything already; stop() may be
    called any number of times, also after a start() that failed or was asked to stop.
    """

    def __init__(self, settings: Settings, handlers: Mapping[str, Handler], *, drain_seconds: float = 10.0) -> None:
        self.settings = settings
        self.handlers = dict(handlers)
        self.drain_seconds = drain_seconds
        self.engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        self.sessions = make_session_factory(self.engine)
        self.storage = open_storage(settings.storage_url)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        # Made by each start attempt: a Kafka client whose start failed is not started again.
        self.publisher: KafkaPublisher | None = None
        self.stop_requested = asyncio.Event()
        self._closing = asyncio.Event()
        self._consumers: list[_Consumer] = []
        self._relay_task: asyncio.Task[None] | None = None
        self._stopped = False

    def request_stop(self) -> None:
        """Ask the worker to stop (safe in a signal handler): a start() still waiting returns False."""
        self.stop_requested.set()

    def topics(self) -> list[str]:
        """The topics this worker needs: each task's topic and its dead-letter topic."""
        return all_topics(self.settings.topic_prefix, self.handlers)

    def _consumer(self, task: str, handler: Handler, publisher: KafkaPublisher, relay: OutboxRelay) -> _Consumer:
        processor = RecordProcessor(
            task=task,
            handler=handler,
            sessions=self.sessions,
            storage=self.storage,
            publisher=publisher,
            settings=self.settings,
            http=self.http,
            on_follow_ups=relay.wake,
        )
        dispatcher = OrderedDispatcher(processor.process, max_in_flight=self.settings.max_in_flight)
        return _Consumer(task, build_app(task, self.settings, dispatcher, self._closing), dispatcher)

    async def start(self) -> bool:
        """Start consuming; True once running, False when asked to stop before Kafka answered.

        Kafka not answering (down, not up yet) is an outage to wait out, not an error: the start
        is tried again with backoff, each failure logged at WARNING. Anything else (TopicsMissing,
        a bug) closes the worker and raises.
        """
        delay = START_RETRY_FIRST_SECONDS
        try:
            while True:
                error = await self._attempt()
                if error is None:
                    return True
                if isinstance(error, asyncio.CancelledError):  # asked to stop mid-attempt
                    return False
                if not is_infrastructure_down(error):
                    raise error
                log.warning(
                    "Kafka at %s is not answering (%s); retrying in %.1f s",
                    self.settings.kafka_bootstrap,
                    _describe(error),
                    delay,
                )
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_requested.wait(), delay)
                    return False
                delay = min(delay * 2, START_RETRY_MAX_SECONDS)
        except BaseException:
            await self.stop()
            raise

    async def _attempt(self) -> BaseException | None:
        """One start attempt, abandoned when a stop is requested; what was half-started is closed."""
        if self.stop_requested.is_set():
            return asyncio.CancelledError()
        attempt = asyncio.ensure_future(self._start_once())
        stop = asyncio.ensure_future(self.stop_requested.wait())
        try:
            await asyncio.wait({attempt, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not attempt.done():
                attempt.cancel()
            await asyncio.gather(attempt, stop, return_exceptions=True)
        error = attempt.exception() if not attempt.cancelled() else asyncio.CancelledError()
        if error is not None:
            await self._close_kafka()
        return error

    async def _start_once(self) -> None:
        missing = await missing_topics(self.settings.kafka_bootstrap, self.topics())
        if missing:  # faust would sit idle until its next metadata refresh, then start silently
            raise TopicsMissing(missing)
        self.publisher = publisher = KafkaPublisher(self.settings.kafka_bootstrap)
        relay = OutboxRelay(self.sessions, publisher, interval=self.settings.relay_interval_seconds)
        await publisher.start()
        self._consumers = [self._consumer(task, handler, publisher, relay) for task, handler in self.handlers.items()]
        for consumer in self._consumers:
            consumer.app.finalize()
        # Each App joins its own group (about a second each): join them all at once, and let
        # every start finish (or fail) before a failure is handled, so none is left starting.
        results = await asyncio.gather(*(c.app.start() for c in self._consumers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self._relay_task = asyncio.create_task(relay.run())

    async def _close_kafka(self) -> None:
        """Stop the faust Apps, the relay and the publisher, whatever state they are in."""
        consumers, self._consumers = self._consumers, []
        for consumer in consumers:
            try:
                await asyncio.wait_for(consumer.app.stop(), _APP_STOP_SECONDS)  # commits the acked offsets
            except Exception:
                log.exception("stopping the consumer of %s failed", consumer.task)
        relay_task, self._relay_task = self._relay_task, None
        if relay_task is not None:
            relay_task.cancel()
            await asyncio.gather(relay_task, return_exceptions=True)
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            try:
                await publisher.stop()
            except Exception:
                log.exception("stopping the Kafka producer failed")

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.request_stop()
        self._closing.set()
        drained = await asyncio.gather(*(c.dispatcher.drain(self.drain_seconds) for c in self._consumers))
        if not all(drained):
            log.warning("stopped with unfinished records; they are redelivered on restart")
        await self._close_kafka()
        await self.http.aclose()
        aclose = getattr(self.storage, "aclose", None)  # S3 keeps a client; a directory does not
        if aclose is not None:
            await aclose()
        await self.engine.dispose()


def _describe(error: BaseException) -> str:
    text = str(error)
    name = type(error).__name__
    return text if text.startswith(name) else f"{name}: {text}" if text else name
