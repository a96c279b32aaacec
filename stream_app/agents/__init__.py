"""The registration list: importing this package registers every built agent.

A task with no module here has no agent yet: its records wait in Kafka, which loses nothing.
"""

from stream_app.agents import (
    archive_migrate,
    delete_owner,
    flush_repo,
    ghm_sync_plans,
    pulls_sync,
    remove_webhook,
    status_set_error,
    status_set_pending,
    sync_repos,
    sync_teams,
    synchronize,
    upload,
    upload_finisher,
    upload_processor,
    verify_bot,
)
from stream_app.agents.registry import HANDLERS

__all__ = [
    "HANDLERS",
    "archive_migrate",
    "delete_owner",
    "flush_repo",
    "ghm_sync_plans",
    "pulls_sync",
    "remove_webhook",
    "status_set_error",
    "status_set_pending",
    "sync_repos",
    "sync_teams",
    "synchronize",
    "upload",
    "upload_finisher",
    "upload_processor",
    "verify_bot",
]
