"""app.tasks.bot.VerifyBot: check the token used for an owner or repo; clear a failing bot."""

from __future__ import annotations

from stream_app.agents.registry import agent
from stream_app.pipeline.context import Result, TaskContext
from stream_app.services import bots
from stream_app.services.repo_provider import ProviderSetup
from stream_app.task_args import VerifyBotV1


@agent("app.tasks.bot.VerifyBot")
async def verify_bot(ctx: TaskContext, args: VerifyBotV1) -> Result:
    setup = ProviderSetup(ctx.http, ctx.settings)
    return await bots.verify_bot(ctx.session, setup, ownerid=args.ownerid, repoid=args.repoid)
