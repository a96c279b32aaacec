"""app.tasks.remove_webhook.RemoveOldHook: delete the repo's webhook on the provider, clear hookid."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import webhooks
from stream_app.services.repo_provider import ProviderSetup
from stream_app.task_args import RemoveOldHookV1


@agent("app.tasks.remove_webhook.RemoveOldHook")
async def remove_webhook(ctx: TaskContext, args: RemoveOldHookV1) -> Result:
    return await webhooks.remove_old_hook(ctx.session, ProviderSetup(ctx.http, ctx.settings), repoid=args.repoid)
