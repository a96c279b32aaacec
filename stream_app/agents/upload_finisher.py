"""app.tasks.upload_finisher.UploadFinisherTask: merge the commit's processed uploads, then notify."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import upload_finishing
from stream_app.task_args import UploadFinisherV1


@agent("app.tasks.upload_finisher.UploadFinisherTask")
async def upload_finisher(ctx: TaskContext, args: UploadFinisherV1) -> Result:
    return await upload_finishing.finish_upload(
        ctx.session, ctx.storage, repoid=args.repoid, commitid=args.commitid, schedule=ctx.schedule
    )
