"""app.tasks.pulls.Sync: refresh one pull, settle its commits, store its diff coverage."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import pulls
from stream_app.services.repo_provider import ProviderSetup
from stream_app.task_args import PullsSyncV1


@agent("app.tasks.pulls.Sync")
async def pulls_sync(ctx: TaskContext, args: PullsSyncV1) -> Result:
    return await pulls.sync_pull(
        ctx.session,
        ProviderSetup(ctx.http, ctx.settings),
        ctx.storage,
        repoid=args.repoid,
        pullid=args.pullid,
        should_send_notifications=args.should_send_notifications,
        schedule=ctx.schedule,
    )
