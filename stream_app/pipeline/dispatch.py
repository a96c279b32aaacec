"""Concurrency without disorder.

Records with different keys run concurrently; records with the same key run one after the
other, in offset order; each partition's records are acked strictly in offset order, so the
committed offset never passes a record that is not finished. (faust 0.15.3 commits past an
in-flight record when acks arrive out of order, notes/faust.md 1.4: we never let them.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from stream_app.pipeline.context import Delivery

log = logging.getLogger(__name__)
TP = tuple[str, int]
Ack = Callable[[], Any]


class _Entry:
    __slots__ = ("ack", "done")

    def __init__(self, ack: Ack) -> None:
        self.ack = ack
        self.done = False


class OrderedDispatcher:
    def __init__(self, process: Callable[[Delivery], Awaitable[Any]], *, max_in_flight: int) -> None:
        self._process = process
        self._slots = asyncio.Semaphore(max_in_flight)
        self._lanes: dict[bytes, asyncio.Task[None]] = {}
        self._pending: dict[TP, dict[int, _Entry]] = {}  # per partition, in offset (arrival) order
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def submit(self, delivery: Delivery, ack: Ack) -> None:
        """Start a record; waits while `max_in_flight` records are running (backpressure)."""
        await self._slots.acquire()
        entry = _Entry(ack)
        tp = (delivery.topic, delivery.partition)
        self._pending.setdefault(tp, {})[delivery.offset] = entry
        before = self._lanes.get(delivery.key) if delivery.key is not None else None
        task = asyncio.create_task(self._run(delivery, entry, before))
        if delivery.key is not None:
            self._lanes[delivery.key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, delivery: Delivery, entry: _Entry, before: asyncio.Task[None] | None) -> None:
        try:
            if before is not None:
                await asyncio.wait([before])  # order within a key; its outcome is not ours
            while True:
                try:
                    await self._process(delivery)
                    break
                except Exception:  # a bug in the pipeline itself: keep the record, try again
                    log.exception("processing %s[%d]@%d failed", delivery.topic, delivery.partition, delivery.offset)
                    await asyncio.sleep(1.0)
            self._finish((delivery.topic, delivery.partition), delivery.offset, entry)
        finally:
            self._slots.release()
            if delivery.key is not None and self._lanes.get(delivery.key) is asyncio.current_task():
                del self._lanes[delivery.key]

    def _finish(self, tp: TP, offset: int, entry: _Entry) -> None:
        pending = self._pending.get(tp)
        if pending is None or pending.get(offset) is not entry:
            return  # the partition was revoked meanwhile: the new owner handles (and dedupes) it
        entry.done = True
        while pending:
            first = next(iter(pending))
            head = pending[first]
            if not head.done:
                break
            del pending[first]
            head.ack()

    def revoke(self, tps: Iterable[TP]) -> None:
        """Forget revoked partitions: their unfinished records are never acked here."""
        for tp in tps:
            self._pending.pop(tp, None)

    async def drain(self, timeout: float) -> bool:
        """Wait for running records; cancel what is left after `timeout` (it stays unacked)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        left = set(self._tasks)
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
        return not left
