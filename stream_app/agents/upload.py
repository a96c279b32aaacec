"""app.tasks.upload.Upload: create the commit's upload rows and fan out one processor per upload."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import uploads
from stream_app.task_args import UploadV1


@agent("app.tasks.upload.Upload")
async def upload(ctx: TaskContext, args: UploadV1) -> Result:
    access = uploads.provider_access(ctx.http, ctx.settings, attempt=ctx.attempt)
    return await uploads.create_uploads(
        ctx.session,
        ctx.storage,
        repoid=args.repoid,
        commitid=args.commitid,
        uploads=args.uploads,
        schedule=ctx.schedule,
        access=access,
    )
