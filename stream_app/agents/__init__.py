"""The registration list: importing this package registers every built agent.

A task with no module here has no agent yet: its records wait in Kafka, which loses nothing.
"""

from stream_app.agents import archive_migrate, delete_owner, flush_repo
from stream_app.agents.registry import HANDLERS

__all__ = ["HANDLERS", "archive_migrate", "delete_owner", "flush_repo"]
