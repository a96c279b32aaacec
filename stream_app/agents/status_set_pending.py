"""app.tasks.status.SetPending: `pending` on the commit's applicable coverage statuses not yet posted."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import statuses
from stream_app.services.repo_provider import ProviderSetup
from stream_app.task_args import SetPendingV1


@agent("app.tasks.status.SetPending")
async def status_set_pending(ctx: TaskContext, args: SetPendingV1) -> Result:
    return await statuses.set_pending(
        ctx.session,
        repoid=args.repoid,
        commitid=args.commitid,
        branch=args.branch,
        on_a_pull_request=args.on_a_pull_request,
        setup=ProviderSetup(ctx.http, ctx.settings),
    )
