"""app.tasks.synchronize.Synchronize: refresh a repo's metadata, branches and open pulls."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import synchronize as sync
from stream_app.services.repo_provider import ProviderSetup
from stream_app.task_args import SynchronizeV1


@agent("app.tasks.synchronize.Synchronize")
async def synchronize(ctx: TaskContext, args: SynchronizeV1) -> Result:
    setup = ProviderSetup(ctx.http, ctx.settings)
    return await sync.synchronize(ctx.session, setup, repoid=args.repoid, schedule=ctx.schedule)
