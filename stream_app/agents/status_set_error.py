"""app.tasks.status.SetError: the CI-failed state on the commit's coverage statuses already posted."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import statuses
from stream_app.services.repo_provider import ProviderSetup
from stream_app.task_args import SetErrorV1


@agent("app.tasks.status.SetError")
async def status_set_error(ctx: TaskContext, args: SetErrorV1) -> Result:
    return await statuses.set_error(
        ctx.session,
        repoid=args.repoid,
        commitid=args.commitid,
        message=args.message,
        setup=ProviderSetup(ctx.http, ctx.settings),
    )
