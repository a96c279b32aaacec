"""app.tasks.upload_processor.UploadProcessorTask: parse one upload; the last one schedules the finisher."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import upload_processing, uploads
from stream_app.task_args import UploadProcessorV1


@agent("app.tasks.upload_processor.UploadProcessorTask")
async def upload_processor(ctx: TaskContext, args: UploadProcessorV1) -> Result:
    access = uploads.provider_access(ctx.http, ctx.settings, attempt=ctx.attempt)
    return await upload_processing.process_upload(
        ctx.session,
        ctx.storage,
        repoid=args.repoid,
        commitid=args.commitid,
        upload_id=args.upload_id,
        schedule=ctx.schedule,
        access=access,
    )
