"""SQLAlchemy models: the contract's tables (coverage) and the worker's own (worker)."""

from stream_app.models.base import Base
from stream_app.models.coverage import Branch, Commit, CommitNotification, Owner, Pull, Repo, Upload
from stream_app.models.worker import OutboxRecord, ProcessedRecord

__all__ = [
    "Base",
    "Branch",
    "Commit",
    "CommitNotification",
    "OutboxRecord",
    "Owner",
    "ProcessedRecord",
    "Pull",
    "Repo",
    "Upload",
]
