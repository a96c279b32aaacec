"""app.tasks.ghm_sync_plans.SyncPlans: a GitHub Marketplace purchase event into the account's plan."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import plans
from stream_app.task_args import SyncPlansV1


@agent("app.tasks.ghm_sync_plans.SyncPlans")
async def ghm_sync_plans(ctx: TaskContext, args: SyncPlansV1) -> Result:
    return await plans.sync_plans(
        ctx.session, sender=args.sender, account=args.account, action=args.action, http=ctx.http, settings=ctx.settings
    )
