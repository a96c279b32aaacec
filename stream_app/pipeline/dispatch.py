"""Concurrency without disorder.

Records with different keys run concurrently; records with the same key run one after the
other, in offset order; each partition's records are acked strictly in offset order, so the
committed offset never passes a record that is not finished. (faust 0.15.3 commits past an
in-flight record when acks arrive out of order, notes/faust.md 1.4: we never let them.)
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
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
        self._in_flight = 0
        # One lane per key with records in flight: one task runs a lane's records in order, so a
        # waiting record costs a queue entry, not a task of its own.
        self._lanes: dict[bytes, deque[tuple[Delivery, _Entry]]] = {}
        self._pending: dict[TP, dict[int, _Entry]] = {}  # per partition, in offset (arrival) order
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        """Records submitted and not finished (running or waiting for their key)."""
        return self._in_flight

    async def submit(self, delivery: Delivery, ack: Ack) -> None:
        """Start a record; waits while `max_in_flight` records are in flight (backpressure)."""
        await self._slots.acquire()
        self._in_flight += 1
        entry = _Entry(ack)
        self._pending.setdefault((delivery.topic, delivery.partition), {})[delivery.offset] = entry
        key = delivery.key
        lane = self._lanes.get(key) if key is not None else None
        if lane is not None:
            lane.append((delivery, entry))  # runs after the records of its key before it
            return
        lane = deque([(delivery, entry)])
        if key is not None:
            self._lanes[key] = lane
        task = asyncio.create_task(self._run_lane(key, lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_lane(self, key: bytes | None, lane: deque[tuple[Delivery, _Entry]]) -> None:
        try:
            while lane:
                delivery, entry = lane[0]
                try:
                    await self._run(delivery, entry)
                finally:
                    lane.popleft()
                    self._release()
        finally:
            if key is not None and self._lanes.get(key) is lane:
                del self._lanes[key]
            while lane:  # cancelled (drain timed out): what waited never ran and is never acked
                lane.popleft()
                self._release()

    def _release(self) -> None:
        self._in_flight -= 1
        self._slots.release()

    async def _run(self, delivery: Delivery, entry: _Entry) -> None:
        tp = (delivery.topic, delivery.partition)
        if self._pending.get(tp, {}).get(delivery.offset) is not entry:
            return  # its partition was revoked while it waited: the new owner runs it
        while True:
            try:
                await self._process(delivery)
                break
            except Exception:  # a bug in the pipeline itself: keep the record, try again
                log.exception("processing %s[%d]@%d failed", delivery.topic, delivery.partition, delivery.offset)
                await asyncio.sleep(1.0)
        self._finish(tp, delivery.offset, entry)

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
            try:
                head.ack()
            except Exception:  # never let it stop the lane: the record is done, only its ack is lost
                log.exception("acking %s[%d]@%d failed", tp[0], tp[1], first)

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
