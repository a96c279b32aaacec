"""app.tasks.delete_owner.DeleteOwner: delete an owner and everything it owns."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import owners
from stream_app.task_args import DeleteOwnerV1


@agent("app.tasks.delete_owner.DeleteOwner")
async def delete_owner(ctx: TaskContext, args: DeleteOwnerV1) -> Result:
    return await owners.delete_owner(ctx.session, ctx.storage, ownerid=args.ownerid)
