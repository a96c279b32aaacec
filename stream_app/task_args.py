"""Version 1 of every task's `args` (spec/tasks.md). One frozen model per (task, version).

Inbound args ignore unknown keys (tolerant reader), so producers may add optional fields
without a new version. Values are JSON primitives and lists/objects of those only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

JsonObject = dict[str, JsonValue]
SHA_PATTERN = r"^[0-9a-fA-F]{7,64}$"
Sha = Annotated[str, Field(pattern=SHA_PATTERN, description="a git commit SHA: 7 to 64 hex digits")]
"""A commit id. Git names a commit by its hex hash on every provider (SHA-1: 40 digits, SHA-256:
64, abbreviated: 7 and up), so anything else can name no commit and is an invalid record. The
commit id also goes into storage paths and provider URLs (quoted there as well)."""


class Args(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


class OwnerSyncV1(Args):
    ownerid: int
    username: str | None = None
    using_integration: bool = False


class SyncTeamsV1(OwnerSyncV1):
    chain_sync_repos: bool = False


class SyncReposV1(OwnerSyncV1):
    """Producers send the owner fields only. The others continue a sync one listing page per
    record: the worker sets them on the record it schedules for the next page. A worker that
    does not know them ignores them and syncs the whole listing from the first page."""

    cursor: str | None = Field(default=None, min_length=1, max_length=2000, description="provider page; null: first")
    page: int = Field(default=1, ge=1, description="this record's page number in the sync")
    private_seen: list[int] = Field(default_factory=list, description="private repoids listed by earlier pages")
    listed_seen: list[int] = Field(default_factory=list, description="repoids of earlier pages (using_integration)")
    exact: bool = Field(default=True, description="false once the ids outgrew a record: the last page only adds")


class DeleteOwnerV1(Args):
    ownerid: int


class NotifyV1(Args):
    repoid: int
    commitid: Sha
    current_yaml: JsonObject | None = None


class PullsSyncV1(Args):
    repoid: int
    pullid: int
    should_send_notifications: bool = True


class SetErrorV1(Args):
    repoid: int
    commitid: Sha
    message: str | None = None


class SetPendingV1(Args):
    repoid: int
    commitid: Sha
    branch: str | None = None
    on_a_pull_request: bool


class UploadItemV1(Args):
    upload_id: str = Field(min_length=1)
    storage_path: str = Field(min_length=1)
    flags: list[str] = Field(default_factory=list)
    build: str | None = None
    build_url: str | None = None
    job: str | None = None
    name: str | None = None
    service: str | None = None
    env: JsonObject | None = None


class UploadV1(Args):
    repoid: int
    commitid: Sha
    uploads: list[UploadItemV1]


class MigrateToArchiveV1(Args):
    repoid: int
    commitid: Sha | None = None


class VerifyBotV1(Args):
    ownerid: int | None = None
    repoid: int | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VerifyBotV1:
        if (self.ownerid is None) == (self.repoid is None):
            raise ValueError("give exactly one of ownerid and repoid")
        return self


class CommentV1(Args):
    repoid: int
    pullid: int
    commitid: Sha | None = None


class FlushRepoV1(Args):
    repoid: int


class SyncPlansV1(Args):
    sender: JsonObject
    account: JsonObject
    action: str


class SendEmailV1(Args):
    to_addr: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    subject: str
    template_name: str = Field(min_length=1)
    from_addr: str | None = None
    template_kwargs: JsonObject = Field(default_factory=dict)


class RemoveOldHookV1(Args):
    repoid: int


class SynchronizeV1(Args):
    repoid: int


class NewUserActivatedV1(Args):
    org_ownerid: int
    user_ownerid: int


class UploadProcessorV1(Args):
    repoid: int
    commitid: Sha
    upload_id: str = Field(min_length=1)


class UploadFinisherV1(Args):
    repoid: int
    commitid: Sha


Version1 = Literal[1]
