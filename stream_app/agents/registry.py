"""Task handlers by task name. Agent modules register here; the worker builds a faust agent each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from stream_app.pipeline.context import Handler, Result, TaskContext
from stream_app.tasks import TASK_NAMES

A = TypeVar("A", bound=BaseModel)
HANDLERS: dict[str, Handler] = {}


def agent(task: str) -> Callable[[Callable[[TaskContext, A], Awaitable[Result]]], Callable[[TaskContext, A], Any]]:
    """Register `fn(ctx, args) -> result dict` as the handler of `task` (a contract task name)."""
    if task not in TASK_NAMES:
        raise ValueError(f"{task!r} is not a task of the contract")

    def register(fn: Callable[[TaskContext, A], Awaitable[Result]]) -> Callable[[TaskContext, A], Any]:
        if task in HANDLERS:
            raise ValueError(f"{task} has two agents")
        HANDLERS[task] = fn
        return fn

    return register
