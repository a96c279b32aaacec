"""GroupCommit's leaders: a record queued at any moment is taken by a batch (no database here:
the transaction is a fake whose COMMIT each test releases)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from stream_app import records
from stream_app.pipeline import ledger
from stream_app.pipeline.batching import GroupCommit, HandlerPace
from stream_app.pipeline.context import Delivery, Result, TaskContext
from stream_app.pipeline.outcome import Outcome
from tests.support.probe import TASK
from tests.support.records import raw


class FakeSession:
    def __init__(self) -> None:
        self.info: dict[str, Any] = {}

    async def connection(self) -> None:
        return None


class Transactions:
    """`sessions.begin()` whose COMMIT waits until the test releases it."""

    def __init__(self) -> None:
        self.commits: list[asyncio.Future[None]] = []

    def begin(self) -> contextlib.AbstractAsyncContextManager[FakeSession]:
        commit = asyncio.get_running_loop().create_future()
        self.commits.append(commit)

        @contextlib.asynccontextmanager
        async def transaction() -> AsyncIterator[FakeSession]:
            yield FakeSession()
            await commit

        return transaction()


@pytest.fixture(autouse=True)
def no_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    async def claim_many(session: Any, *, task: str, claims: Sequence[tuple[str, Delivery, int]]) -> set[str]:
        return {record_id for record_id, _, _ in claims}

    async def record_results(session: Any, results: Sequence[tuple[str, str]]) -> None:
        return None

    monkeypatch.setattr(ledger, "claim_many", claim_many)
    monkeypatch.setattr(ledger, "record_results", record_results)


async def handler(ctx: TaskContext, args: Any) -> Result:
    return {"record": ctx.record_id}


def record(i: int) -> tuple[Delivery, records.Envelope, Any]:
    value = raw({"repoid": i}, id=f"id-{i}")
    env = records.parse_envelope(value, 1 << 20)
    return Delivery(TASK, 0, i, str(i).encode(), value), env, records.decode_args(env, expected_task=TASK)


def group_commit(transactions: Transactions) -> GroupCommit:
    def context(session: Any, env: records.Envelope) -> TaskContext:
        return TaskContext(session, None, env.id, env.attempt, None, None, None)  # type: ignore[arg-type]

    return GroupCommit(
        task=TASK,
        handler=handler,
        sessions=transactions,  # type: ignore[arg-type]
        make_context=context,
        pace=HandlerPace(max_round_trips=4),
        on_follow_ups=lambda: None,
        max_size=32,
    )


async def test_a_record_queued_while_both_leaders_finish_is_still_taken() -> None:
    transactions = Transactions()
    batches = group_commit(transactions)
    first = asyncio.create_task(batches.run(*record(1)))
    await asyncio.sleep(0.01)  # leader 1 runs [1] and waits for its COMMIT
    second_lane: list[Outcome | None] = []

    async def lane() -> None:  # a key's lane: its next record comes right after the previous one
        second_lane.append(await batches.run(*record(2)))
        second_lane.append(await batches.run(*record(3)))

    lane_task = asyncio.create_task(lane())
    await asyncio.sleep(0.01)  # leader 2 runs [2] and waits for its COMMIT
    assert len(transactions.commits) == 2

    for commit in reversed(transactions.commits):  # both COMMITs answer in one loop step
        commit.set_result(None)
    for _ in range(1000):  # record 3 needs a batch of its own
        if len(transactions.commits) == 3:
            break
        await asyncio.sleep(0)
    assert len(transactions.commits) == 3, "record 3 is queued with no leader to take it"
    transactions.commits[2].set_result(None)

    await asyncio.wait_for(lane_task, timeout=2)
    assert [o.kind if o else None for o in second_lane] == ["done", "done"]
    assert (await first) is not None
