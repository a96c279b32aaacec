"""The tables shared with the web app (spec/tasks.md); their names and columns are contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from stream_app.models.base import Base

IntArray = ARRAY(Integer)


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Owner(Base):
    __tablename__ = "owners"
    __table_args__ = (UniqueConstraint("service", "service_id"),)

    ownerid: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(Text)
    service_id: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(Text)
    parent_service_id: Mapped[str | None] = mapped_column(Text)
    oauth_token: Mapped[str | None] = mapped_column(Text)
    bot: Mapped[int | None] = mapped_column(ForeignKey("owners.ownerid", ondelete="SET NULL"))
    integration_id: Mapped[int | None] = mapped_column(BigInteger)
    yaml: Mapped[Any | None] = mapped_column(JSON)
    organizations: Mapped[list[int] | None] = mapped_column(IntArray)
    permission: Mapped[list[int] | None] = mapped_column(IntArray)
    admins: Mapped[list[int] | None] = mapped_column(IntArray)
    plan: Mapped[str | None] = mapped_column(Text)
    plan_provider: Mapped[str | None] = mapped_column(Text)
    plan_user_count: Mapped[int | None] = mapped_column(Integer)
    plan_auto_activate: Mapped[bool | None] = mapped_column(Boolean)
    plan_activated_users: Mapped[list[int] | None] = mapped_column(IntArray)
    stripe_subscription_id: Mapped[str | None] = mapped_column(Text)
    createstamp: Mapped[datetime] = _now()
    updatestamp: Mapped[datetime] = _now()


class Repo(Base):
    __tablename__ = "repos"
    __table_args__ = (UniqueConstraint("ownerid", "service_id"), UniqueConstraint("ownerid", "name"))

    repoid: Mapped[int] = mapped_column(Integer, primary_key=True)
    ownerid: Mapped[int] = mapped_column(ForeignKey("owners.ownerid"), index=True)
    bot: Mapped[int | None] = mapped_column(ForeignKey("owners.ownerid", ondelete="SET NULL"))
    # indexed: SyncRepos finds a repo moved between owners by its provider id alone
    service_id: Mapped[str] = mapped_column(Text, index=True)
    name: Mapped[str] = mapped_column(Text)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(Text)
    branch: Mapped[str | None] = mapped_column(Text)
    yaml: Mapped[Any | None] = mapped_column(JSON)
    hookid: Mapped[str | None] = mapped_column(Text)
    activated: Mapped[bool] = mapped_column(Boolean, default=False)
    using_integration: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    cache: Mapped[Any | None] = mapped_column(JSONB)
    updatestamp: Mapped[datetime] = _now()


class Commit(Base):
    __tablename__ = "commits"
    __table_args__ = (UniqueConstraint("repoid", "commitid"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repoid: Mapped[int] = mapped_column(ForeignKey("repos.repoid"))
    commitid: Mapped[str] = mapped_column(Text)
    author: Mapped[int | None] = mapped_column(ForeignKey("owners.ownerid", ondelete="SET NULL"))
    branch: Mapped[str | None] = mapped_column(Text)
    pullid: Mapped[int | None] = mapped_column(Integer)
    parent: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updatestamp: Mapped[datetime] = _now()
    ci_passed: Mapped[bool | None] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(Text, default="pending")
    merged: Mapped[bool | None] = mapped_column(Boolean)
    deleted: Mapped[bool | None] = mapped_column(Boolean)
    notified: Mapped[bool | None] = mapped_column(Boolean)
    report: Mapped[Any | None] = mapped_column(JSONB)
    totals: Mapped[Any | None] = mapped_column(JSONB)


class Branch(Base):
    __tablename__ = "branches"

    repoid: Mapped[int] = mapped_column(ForeignKey("repos.repoid"), primary_key=True)
    branch: Mapped[str] = mapped_column(Text, primary_key=True)
    head: Mapped[str | None] = mapped_column(Text)
    base: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[int] | None] = mapped_column(IntArray)
    updatestamp: Mapped[datetime] = _now()


class Pull(Base):
    __tablename__ = "pulls"
    __table_args__ = (UniqueConstraint("repoid", "pullid"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repoid: Mapped[int] = mapped_column(ForeignKey("repos.repoid"))
    pullid: Mapped[int] = mapped_column(Integer)
    issueid: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text, default="open")
    title: Mapped[str | None] = mapped_column(Text)
    base: Mapped[str | None] = mapped_column(Text)
    head: Mapped[str | None] = mapped_column(Text)
    compared_to: Mapped[str | None] = mapped_column(Text)
    commentid: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[Any | None] = mapped_column(JSONB)
    flare: Mapped[Any | None] = mapped_column(JSONB)
    author: Mapped[int | None] = mapped_column(ForeignKey("owners.ownerid", ondelete="SET NULL"))
    updatestamp: Mapped[datetime] = _now()


class Upload(Base):
    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("commit_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    commit_id: Mapped[int] = mapped_column(ForeignKey("commits.id"))
    external_id: Mapped[str] = mapped_column(Text)
    storage_path: Mapped[str] = mapped_column(Text, index=True)  # raw-upload deletes look up shared paths
    state: Mapped[str] = mapped_column(Text, default="uploaded")
    error_code: Mapped[str | None] = mapped_column(Text)
    error_params: Mapped[Any | None] = mapped_column(JSONB)
    build_code: Mapped[str | None] = mapped_column(Text)
    build_url: Mapped[str | None] = mapped_column(Text)
    job_code: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    order_number: Mapped[int | None] = mapped_column(Integer)
    totals: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class CommitNotification(Base):
    __tablename__ = "commit_notifications"
    __table_args__ = (UniqueConstraint("commit_id", "notification_type"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    commit_id: Mapped[int] = mapped_column(ForeignKey("commits.id"))
    notification_type: Mapped[str] = mapped_column(Text)
    decoration_type: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, default="pending")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
