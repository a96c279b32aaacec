"""app.tasks.sync_repos.SyncRepos: the repos an owner can see, and its permissions."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import repo_sync
from stream_app.task_args import SyncReposV1


@agent("app.tasks.sync_repos.SyncRepos")
async def sync_repos(ctx: TaskContext, args: SyncReposV1) -> Result:
    return await repo_sync.sync_repos(
        ctx.session,
        ownerid=args.ownerid,
        http=ctx.http,
        settings=ctx.settings,
        using_integration=args.using_integration,
    )
