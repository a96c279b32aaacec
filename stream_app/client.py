"""The producer API for the web app: validate, choose the key, produce, return the record id."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from stream_app import records
from stream_app.settings import Settings
from stream_app.tasks import resolve, topic_for


class InvalidTaskArguments(ValueError):
    """The arguments do not fit the task's record version: nothing was sent."""


def build_record(
    task: str,
    args: dict[str, Any],
    *,
    version: int | None = None,
    not_before: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[str, str, str | None, bytes]:
    """(task name, record id, key, bytes) for `task` with `args`; raises InvalidTaskArguments."""
    name = resolve(task)
    spec = records.REGISTRY[name]
    version = version or spec.newest
    if version not in spec.versions:
        raise InvalidTaskArguments(f"{name} has no record version {version} (newest: {spec.newest})")
    model_cls = spec.versions[version]
    unknown = sorted(set(args) - set(model_cls.model_fields))
    if unknown:  # workers ignore unknown keys; a producer's typo must not vanish silently
        raise InvalidTaskArguments(f"unknown argument(s) for {name} v{version}: {', '.join(unknown)}")
    try:
        model = model_cls.model_validate(args)
    except ValidationError as exc:
        raise InvalidTaskArguments(f"invalid arguments for {name} v{version}: {records.describe(exc)}") from None
    newest = records.upcast(spec, version, model.model_dump(mode="json"))
    record_id, value = records.encode(name, model, version=version, not_before=not_before, extra=extra)
    return name, record_id, spec.key(newest), value


class TaskProducer:
    """Produces task records. `bootstrap` and `topic_prefix` default to the settings
    (STREAM_APP_KAFKA_BOOTSTRAP, STREAM_APP_TOPIC_PREFIX), read when the producer is made;
    an argument given, even an empty prefix, wins."""

    def __init__(self, bootstrap: str | None = None, *, topic_prefix: str | None = None, producer_id: str = "") -> None:
        if bootstrap is None or topic_prefix is None:
            settings = Settings()
            bootstrap = settings.kafka_bootstrap if bootstrap is None else bootstrap
            topic_prefix = settings.topic_prefix if topic_prefix is None else topic_prefix
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        self._extra = {"producer": producer_id} if producer_id else {}

    async def __aenter__(self) -> TaskProducer:
        await self._producer.start()
        return self

    async def __aexit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        await self._producer.stop()

    async def send(
        self,
        task: str,
        *,
        key: str | None = None,
        version: int | None = None,
        not_before: datetime | None = None,
        **args: Any,
    ) -> str:
        """Validate and produce one record; returns its id. Raises InvalidTaskArguments first."""
        name, record_id, default_key, value = build_record(
            task, args, version=version, not_before=not_before, extra=self._extra
        )
        chosen = key if key is not None else default_key
        await self._producer.send_and_wait(
            topic_for(name, self.topic_prefix), value, key=chosen.encode() if chosen else None
        )
        return record_id
