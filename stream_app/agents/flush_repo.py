"""app.tasks.flush_repo.FlushRepo: delete a repo's coverage data, keep the repo."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import repos
from stream_app.task_args import FlushRepoV1


@agent("app.tasks.flush_repo.FlushRepo")
async def flush_repo(ctx: TaskContext, args: FlushRepoV1) -> Result:
    return await repos.flush_repo(ctx.session, ctx.storage, repoid=args.repoid)
