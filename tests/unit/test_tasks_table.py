"""The task table of contract section 1: names, short names, topics, dead-letter topics, groups."""

from __future__ import annotations

import pytest

from stream_app.records import REGISTRY
from stream_app.tasks import (
    SHORT_NAMES,
    TASK_NAMES,
    UnknownTask,
    dlq_topic_for,
    group_for,
    resolve,
    short_name,
    topic_for,
)

# Copied from spec/contract.md section 1, not from the code.
CONTRACT_TABLE = {
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


def test_the_task_table_is_the_contracts_19_tasks() -> None:
    assert len(TASK_NAMES) == 19
    assert TASK_NAMES == CONTRACT_TABLE
    assert set(REGISTRY) == set(TASK_NAMES)


def test_short_names_are_unique_and_map_back() -> None:
    assert len(set(TASK_NAMES.values())) == 19
    assert {full: short for short, full in SHORT_NAMES.items()} == TASK_NAMES


@pytest.mark.parametrize(("full", "short"), CONTRACT_TABLE.items(), ids=list(CONTRACT_TABLE.values()))
def test_resolve_accepts_the_full_and_the_short_name(full: str, short: str) -> None:
    assert resolve(full) == full
    assert resolve(short) == full
    assert short_name(full) == short


@pytest.mark.parametrize("name", ["", "Notify", "app.tasks.notify", "notify ", "NOTIFY", "app.tasks.notify.Notify.dlq"])
def test_resolve_rejects_anything_else(name: str) -> None:
    with pytest.raises(UnknownTask, match="unknown task"):
        resolve(name)


def test_topic_names_are_the_task_name_with_the_prefix() -> None:
    assert topic_for("app.tasks.notify.Notify", "") == "app.tasks.notify.Notify"
    assert topic_for("app.tasks.notify.Notify", "staging.") == "staging.app.tasks.notify.Notify"


def test_dead_letter_topics_add_dlq_after_the_prefixed_topic() -> None:
    assert dlq_topic_for("app.tasks.pulls.Sync", "") == "app.tasks.pulls.Sync.dlq"
    assert dlq_topic_for("app.tasks.pulls.Sync", "staging.") == "staging.app.tasks.pulls.Sync.dlq"


def test_consumer_groups_are_group_id_dot_short_name() -> None:
    assert group_for("app.tasks.notify.Notify", "stream-app") == "stream-app.notify"
    assert group_for("app.tasks.pulls.Sync", "ci-42") == "ci-42.pulls_sync"


def test_every_task_gets_distinct_topics_and_groups() -> None:
    topics = {topic_for(t, "p.") for t in TASK_NAMES} | {dlq_topic_for(t, "p.") for t in TASK_NAMES}
    groups = {group_for(t, "g") for t in TASK_NAMES}

    assert len(topics) == 38
    assert len(groups) == 19
