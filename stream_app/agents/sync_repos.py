"""app.tasks.sync_repos.SyncRepos: the repos an owner can see, one page per record, and its permissions."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import repo_sync
from stream_app.task_args import SyncReposV1


@agent("app.tasks.sync_repos.SyncRepos")
async def sync_repos(ctx: TaskContext, args: SyncReposV1) -> Result:
    return await repo_sync.sync_repos(
        ctx.session, args, http=ctx.http, settings=ctx.settings, schedule=ctx.schedule, record_id=ctx.record_id
    )
