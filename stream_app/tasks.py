"""The task table of the contract: full names, short names, topics and consumer groups."""

from __future__ import annotations

TASK_NAMES: dict[str, str] = {
    "app.tasks.sync_teams.SyncTeams": "sync_teams",
    "app.tasks.sync_repos.SyncRepos": "sync_repos",
    "app.tasks.delete_owner.DeleteOwner": "delete_owner",
    "app.tasks.notify.Notify": "notify",
    "app.tasks.pulls.Sync": "pulls_sync",
    "app.tasks.status.SetError": "status_set_error",
    "app.tasks.status.SetPending": "status_set_pending",
    "app.tasks.upload.Upload": "upload",
    "app.tasks.archive.MigrateToArchive": "archive_migrate",
    "app.tasks.bot.VerifyBot": "verify_bot",
    "app.tasks.comment.Comment": "comment",
    "app.tasks.flush_repo.FlushRepo": "flush_repo",
    "app.tasks.ghm_sync_plans.SyncPlans": "ghm_sync_plans",
    "app.tasks.send_email.SendEmail": "send_email",
    "app.tasks.remove_webhook.RemoveOldHook": "remove_webhook",
    "app.tasks.synchronize.Synchronize": "synchronize",
    "app.tasks.new_user_activated.NewUserActivated": "new_user_activated",
    "app.tasks.upload_processor.UploadProcessorTask": "upload_processor",
    "app.tasks.upload_finisher.UploadFinisherTask": "upload_finisher",
}
SHORT_NAMES: dict[str, str] = {short: full for full, short in TASK_NAMES.items()}


class UnknownTask(ValueError):
    pass


def resolve(name: str) -> str:
    """Full task name for a full or short name (the CLI accepts both)."""
    if name in TASK_NAMES:
        return name
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    raise UnknownTask(f"unknown task {name!r}: use a name from the contract's task table")


def short_name(task: str) -> str:
    return TASK_NAMES[task]


def topic_for(task: str, prefix: str) -> str:
    return f"{prefix}{task}"


def dlq_topic_for(task: str, prefix: str) -> str:
    return f"{prefix}{task}.dlq"


def group_for(task: str, group_id: str) -> str:
    return f"{group_id}.{TASK_NAMES[task]}"
