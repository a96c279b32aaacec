"""app.tasks.sync_teams.SyncTeams: the user's organisations, then SyncRepos when chained."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import teams
from stream_app.task_args import SyncTeamsV1


@agent("app.tasks.sync_teams.SyncTeams")
async def sync_teams(ctx: TaskContext, args: SyncTeamsV1) -> Result:
    return await teams.sync_teams(
        ctx.session,
        ownerid=args.ownerid,
        http=ctx.http,
        settings=ctx.settings,
        schedule=ctx.schedule,
        chain_sync_repos=args.chain_sync_repos,
        using_integration=args.using_integration,
    )
