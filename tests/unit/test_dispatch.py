"""OrderedDispatcher: concurrency across keys, order within a key, acks in offset order.

A fake `process` waits on one asyncio.Event per record, so each test decides when every record
finishes; the fake acks write into the same event log as the starts and ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from stream_app.pipeline import dispatch
from stream_app.pipeline.context import Delivery
from stream_app.pipeline.dispatch import OrderedDispatcher

TOPIC = "app.tasks.notify.Notify"
Id = tuple[int, int, bytes]  # (partition, offset, value): value tells a redelivery from the first one


def delivery(offset: int, key: bytes | None = b"k", *, partition: int = 0, value: bytes = b"v") -> Delivery:
    return Delivery(topic=TOPIC, partition=partition, offset=offset, key=key, value=value)


def ident(d: Delivery) -> Id:
    return (d.partition, d.offset, d.value)


class Harness:
    """A fake process() gated per record, and acks that log when they are called."""

    def __init__(self, *, max_in_flight: int = 16) -> None:
        self.log: list[tuple[str, Id]] = []
        self.gates: dict[Id, asyncio.Event] = {}
        self.failures_left: dict[Id, int] = {}
        self.dispatcher = OrderedDispatcher(self.process, max_in_flight=max_in_flight)

    def gate(self, d: Delivery) -> asyncio.Event:
        return self.gates.setdefault(ident(d), asyncio.Event())

    def release(self, d: Delivery) -> None:
        self.gate(d).set()

    async def process(self, d: Delivery) -> None:
        self.log.append(("start", ident(d)))
        try:
            await self.gate(d).wait()
        except asyncio.CancelledError:
            self.log.append(("cancelled", ident(d)))
            raise
        if self.failures_left.get(ident(d), 0) > 0:
            self.failures_left[ident(d)] -= 1
            self.log.append(("raised", ident(d)))
            raise RuntimeError("a bug in the pipeline")
        self.log.append(("end", ident(d)))

    def ack(self, d: Delivery) -> Callable[[], None]:
        return lambda: self.log.append(("ack", ident(d)))

    async def submit(self, d: Delivery) -> None:
        await self.dispatcher.submit(d, self.ack(d))

    def events(self, kind: str) -> list[Id]:
        return [i for k, i in self.log if k == kind]

    def started(self) -> list[int]:
        return [offset for _, offset, _ in self.events("start")]

    def acked(self) -> list[tuple[int, int]]:
        return [(partition, offset) for partition, offset, _ in self.events("ack")]


async def settle() -> None:
    """Let every runnable task run until all of them wait on something."""
    for _ in range(50):
        await asyncio.sleep(0)


async def eventually(condition: Callable[[], bool]) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never became true")


# (a) same key: one after another, in offset order


async def test_records_with_the_same_key_run_one_after_another_in_offset_order() -> None:
    h = Harness()
    first, second, third = delivery(0), delivery(1), delivery(2)
    for d in (first, second, third):
        await h.submit(d)
    h.release(third)
    h.release(second)
    await settle()

    assert h.started() == [0]  # the later ones wait although their gates are open

    h.release(first)
    await eventually(lambda: len(h.events("end")) == 3)

    assert [(kind, offset) for kind, (_, offset, _) in h.log if kind in ("start", "end")] == [
        ("start", 0),
        ("end", 0),
        ("start", 1),
        ("end", 1),
        ("start", 2),
        ("end", 2),
    ]
    assert h.acked() == [(0, 0), (0, 1), (0, 2)]


# (b) and (h): different keys, or no key, run concurrently


@pytest.mark.parametrize(("key_a", "key_b"), [(b"repo-1", b"repo-2"), (None, None)], ids=["different", "none"])
async def test_records_with_different_keys_or_no_key_run_concurrently(key_a: bytes | None, key_b: bytes | None) -> None:
    h = Harness()
    a, b = delivery(0, key_a), delivery(1, key_b)
    await h.submit(a)
    await h.submit(b)
    await settle()

    assert h.started() == [0, 1]  # both running, neither finished
    assert h.events("end") == []

    h.release(b)
    await eventually(lambda: len(h.events("end")) == 1)
    assert h.events("end") == [ident(b)]  # the later record finished first: nothing waited for a
    h.release(a)
    await eventually(lambda: len(h.acked()) == 2)


async def test_a_key_becomes_free_again_once_its_records_are_done() -> None:
    h = Harness()
    await h.submit(first := delivery(0))
    h.release(first)
    await eventually(lambda: h.acked() == [(0, 0)])

    await h.submit(delivery(1))
    await settle()

    assert h.started() == [0, 1]


# (c) acks per partition strictly in offset order


async def test_acks_follow_offset_order_even_when_later_records_finish_first() -> None:
    h = Harness()
    records = [delivery(offset, key) for offset, key in enumerate([b"a", b"b", b"c"])]
    for d in records:
        await h.submit(d)
    await settle()

    h.release(records[2])
    await eventually(lambda: ident(records[2]) in h.events("end"))
    h.release(records[1])
    await eventually(lambda: ident(records[1]) in h.events("end"))
    await settle()
    assert h.acked() == []  # offset 0 is still running: committing 1 or 2 would skip it

    h.release(records[0])
    await eventually(lambda: len(h.acked()) == 3)

    assert h.acked() == [(0, 0), (0, 1), (0, 2)]
    assert h.log.index(("ack", ident(records[2]))) > h.log.index(("end", ident(records[0])))


async def test_each_partition_acks_on_its_own() -> None:
    h = Harness()
    slow, fast = delivery(0, b"a", partition=0), delivery(0, b"b", partition=1)
    later_in_slow = delivery(1, b"c", partition=0)
    for d in (slow, fast, later_in_slow):
        await h.submit(d)

    h.release(fast)
    h.release(later_in_slow)
    await eventually(lambda: len(h.events("end")) == 2)
    await settle()

    assert h.acked() == [(1, 0)]  # partition 1 is not held back by partition 0's offset 0

    h.release(slow)
    await eventually(lambda: len(h.acked()) == 3)
    assert h.acked() == [(1, 0), (0, 0), (0, 1)]


# (d) revoked partitions


async def test_a_record_of_a_revoked_partition_is_never_acked() -> None:
    h = Harness()
    running, done_after = delivery(5, b"a"), delivery(6, b"b")
    other = delivery(5, b"c", partition=1)
    for d in (running, done_after, other):
        await h.submit(d)
    await settle()

    h.dispatcher.revoke([(TOPIC, 0)])
    for d in (running, done_after, other):
        h.release(d)
    await eventually(lambda: len(h.events("end")) == 3)
    await settle()

    assert h.acked() == [(1, 5)]  # only the partition that was not revoked


async def test_a_record_waiting_for_its_key_is_not_run_once_its_partition_is_revoked() -> None:
    h = Harness()
    running, waiting = delivery(5, b"k"), delivery(6, b"k")
    await h.submit(running)
    await h.submit(waiting)
    await settle()

    h.dispatcher.revoke([(TOPIC, 0)])  # the new owner gets both again from the committed offset
    h.release(running)
    h.release(waiting)
    await settle()

    assert h.started() == [5]  # running finishes; the waiting one is left to the new owner
    assert h.acked() == []
    assert h.dispatcher.in_flight == 0


@pytest.mark.parametrize("first_to_finish", ["old", "new"])
async def test_a_redelivered_record_is_acked_only_by_its_own_completion(first_to_finish: str) -> None:
    # No key, so the old run and the redelivery run side by side (the worst case).
    h = Harness()
    old, new = delivery(5, None, value=b"old"), delivery(5, None, value=b"new")
    await h.dispatcher.submit(old, lambda: h.log.append(("ack", (0, 5, b"old"))))
    await settle()

    h.dispatcher.revoke([(TOPIC, 0)])  # ... and assigned back: the record comes again
    await h.dispatcher.submit(new, lambda: h.log.append(("ack", (0, 5, b"new"))))
    await settle()
    assert h.events("start") == [ident(old), ident(new)]

    order = (old, new) if first_to_finish == "old" else (new, old)
    h.release(order[0])
    await eventually(lambda: len(h.events("end")) == 1)
    await settle()
    assert h.events("ack") == ([] if first_to_finish == "old" else [ident(new)])

    h.release(order[1])
    await eventually(lambda: len(h.events("end")) == 2)
    await settle()
    assert h.events("ack") == [ident(new)]


async def test_a_redelivery_with_the_same_key_waits_for_the_old_run_and_is_acked_once() -> None:
    h = Harness()
    old, new = delivery(5, b"k", value=b"old"), delivery(5, b"k", value=b"new")
    await h.submit(old)
    await settle()
    h.dispatcher.revoke([(TOPIC, 0)])
    await h.submit(new)
    await settle()
    assert h.events("start") == [ident(old)]

    h.release(new)
    h.release(old)
    await eventually(lambda: len(h.events("end")) == 2)
    await settle()

    assert h.events("ack") == [ident(new)]


# (e) backpressure


async def test_submit_blocks_while_max_in_flight_records_are_running() -> None:
    h = Harness(max_in_flight=2)
    first, second, third = delivery(0, b"a"), delivery(1, b"b"), delivery(2, b"c")
    await h.submit(first)
    await h.submit(second)
    assert h.dispatcher.in_flight == 2

    blocked = asyncio.create_task(h.submit(third))
    await settle()
    assert not blocked.done()
    assert h.started() == [0, 1]

    h.release(second)
    await asyncio.wait_for(blocked, timeout=1)
    await settle()
    assert h.started() == [0, 1, 2]
    assert h.dispatcher.in_flight == 2


async def test_a_record_waiting_for_its_key_holds_a_slot() -> None:
    h = Harness(max_in_flight=2)
    await h.submit(delivery(0, b"a"))
    await h.submit(delivery(1, b"a"))  # waits behind offset 0

    blocked = asyncio.create_task(h.submit(delivery(2, b"b")))
    await settle()

    assert not blocked.done()
    h.release(delivery(0, b"a"))
    await asyncio.wait_for(blocked, timeout=1)


# (f) drain


async def test_drain_waits_for_records_that_finish_in_time() -> None:
    h = Harness()
    records = [delivery(offset, bytes([offset])) for offset in range(3)]
    for d in records:
        await h.submit(d)
    for d in records:
        h.release(d)

    assert await h.dispatcher.drain(timeout=1.0) is True
    assert h.acked() == [(0, 0), (0, 1), (0, 2)]


async def test_drain_cancels_what_is_left_after_the_timeout_and_never_acks_it() -> None:
    h = Harness()
    finished, stuck, finished_after_stuck = delivery(0, b"a"), delivery(1, b"b"), delivery(2, b"c")
    waiting_on_key = delivery(3, b"b")
    for d in (finished, stuck, finished_after_stuck, waiting_on_key):
        await h.submit(d)
    h.release(finished)
    h.release(finished_after_stuck)

    assert await h.dispatcher.drain(timeout=0.01) is False

    assert h.events("cancelled") == [ident(stuck)]
    assert ident(waiting_on_key) not in h.events("start")
    assert h.dispatcher.in_flight == 0
    assert h.acked() == [(0, 0)]  # 2 finished, but 1 before it did not

    h.release(stuck)
    h.release(waiting_on_key)
    await settle()
    assert h.acked() == [(0, 0)]


# (g) the safety net: a process() that raises is run again


async def test_a_process_that_raises_is_retried_and_only_then_acked(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    class NoPause:
        """asyncio as dispatch.py sees it, without the real pause between retries."""

        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

        @staticmethod
        async def sleep(seconds: float) -> None:
            pauses.append(seconds)
            await asyncio.sleep(0)

    monkeypatch.setattr(dispatch, "asyncio", NoPause())
    h = Harness()
    flaky, after = delivery(0, b"a"), delivery(1, b"b")
    h.failures_left[ident(flaky)] = 1
    await h.submit(flaky)
    await h.submit(after)
    h.release(after)
    h.release(flaky)

    await eventually(lambda: len(h.acked()) == 2)

    assert h.events("start").count(ident(flaky)) == 2
    assert h.log.index(("raised", ident(flaky))) < h.log.index(("ack", ident(flaky)))
    assert h.acked() == [(0, 0), (0, 1)]  # offset 1 waited for the retried offset 0
    assert pauses == [1.0]
