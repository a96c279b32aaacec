"""app.tasks.archive.MigrateToArchive: move commit reports from the database to archive storage."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import archive
from stream_app.task_args import MigrateToArchiveV1


@agent("app.tasks.archive.MigrateToArchive")
async def archive_migrate(ctx: TaskContext, args: MigrateToArchiveV1) -> Result:
    return await archive.migrate_to_archive(ctx.session, ctx.storage, repoid=args.repoid, commitid=args.commitid)
