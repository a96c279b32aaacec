"""`stream-app topics create`: broker refusals are errors, and an existing topic whose partition
count differs from STREAM_APP_PARTITIONS is reported as a mismatch (exit 1), not "already existed"."""

from __future__ import annotations

import pytest

from stream_app.ops.kafka_admin import OpsError
from stream_app.ops.topics import all_topics, create_topics, ensure_topics
from stream_app.settings import Settings
from stream_app.tasks import TASK_NAMES, dlq_topic_for, topic_for
from tests.kafka.test_replay import cli
from tests.support.kafka import partitions_of, unique
from tests.support.probe import TASK

pytestmark = [pytest.mark.kafka]


def fresh(kafka_bootstrap: str, partitions: int) -> Settings:
    return Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique("tc") + ".", partitions=partitions)


async def test_an_existing_topic_with_another_partition_count_is_a_mismatch(kafka_bootstrap: str) -> None:
    settings = fresh(kafka_bootstrap, 2)
    assert await create_topics(settings, tasks=[TASK]) == all_topics(settings.topic_prefix, [TASK])

    report = await ensure_topics(settings.model_copy(update={"partitions": 3}), tasks=[TASK])

    topic, dlq = topic_for(TASK, settings.topic_prefix), dlq_topic_for(TASK, settings.topic_prefix)
    assert report.created == []
    assert report.existing == [topic, dlq]
    assert report.mismatched == {topic: 2, dlq: 2}
    assert (await ensure_topics(settings, tasks=[TASK])).mismatched == {}


async def test_a_topic_the_broker_refuses_is_an_error_not_created(kafka_bootstrap: str) -> None:
    settings = fresh(kafka_bootstrap, 1)

    with pytest.raises(OpsError, match=r"could not create 2 topic\(s\): .*app\.tasks\.flush_repo\.FlushRepo: "):
        await create_topics(settings, tasks=[TASK], replication=99)  # more replicas than brokers


async def test_cli_reports_a_partition_mismatch_and_exits_1(kafka_bootstrap: str) -> None:
    settings = fresh(kafka_bootstrap, 2)
    await create_topics(settings, tasks=[TASK])

    code, out, err = await cli(settings.model_copy(update={"partitions": 3}), "topics", "create")

    topic = topic_for(TASK, settings.topic_prefix)
    assert code == 1
    assert out == f"{2 * len(TASK_NAMES) - 2} topics created, 2 already existed\n"
    assert err.count("\n") == 1
    assert err.startswith(f"error: 2 topic(s) have a partition count other than STREAM_APP_PARTITIONS=3: {topic} (2), ")
    assert "stream-app topics create" not in err
    created = topic_for("app.tasks.sync_teams.SyncTeams", settings.topic_prefix)
    assert await partitions_of(kafka_bootstrap, created) == [0, 1, 2]  # the missing ones were created


async def test_cli_replication_factor(kafka_bootstrap: str) -> None:
    settings = fresh(kafka_bootstrap, 1)

    code, out, err = await cli(settings, "topics", "create", "--replication-factor", "99")

    assert (code, out) == (1, "")
    assert err.startswith(f"error: could not create {2 * len(TASK_NAMES)} topic(s): ")
    assert err.count("\n") == 1
    code, out, err = await cli(settings, "topics", "create", "--replication-factor", "1")
    assert (code, out, err) == (0, f"{2 * len(TASK_NAMES)} topics created, 0 already existed\n", "")
