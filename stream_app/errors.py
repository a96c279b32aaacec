"""The error vocabulary the pipeline understands. Services raise these; the pipeline sorts them."""

from __future__ import annotations

from datetime import datetime


class InvalidRecord(Exception):
    """The record can never be handled as it is: dead-letter it with `code`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class NewerVersion(Exception):
    """The record's version is newer than this worker knows: a newer worker may take it."""

    def __init__(self, version: int, newest: int) -> None:
        super().__init__(f"record version {version} is newer than {newest}, the newest this worker knows")
        self.version = version


class RetryLater(Exception):
    """A transient failure of the outside world: run the record again at `at` (or after backoff)."""

    def __init__(self, reason: str, at: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


class PermanentError(Exception):
    """The task cannot succeed with these arguments: dead-letter the record with `code`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
