"""Sorting exceptions: our own infrastructure being down (pause) vs. anything else."""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, NotLeaderForPartitionError
from sqlalchemy import exc as sa_exc

_INFRA_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # pool exhausted or unreachable
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    # Not all of OperatorInterventionError: a cancelled query (57014) is no outage.
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotLeaderForPartitionError,
)

# Transaction conflicts: run the record again at once (a few times) rather than later.
_CONFLICT_SQLSTATES = {"40001", "40P01"}


def is_infrastructure_down(exc: BaseException) -> bool:
    """True when PostgreSQL or Kafka is unreachable: the record must wait, not fail."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        return is_infrastructure_down(exc.orig) if exc.orig is not None else False
    if isinstance(exc, _INFRA_TYPES):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_infrastructure_down(cause)


_DATABASE_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.DBAPIError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def is_database_error(exc: BaseException) -> bool:
    """True when the exception (or its cause) comes from the database layer, not the outside world."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _DATABASE_TYPES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_conflict(exc: BaseException) -> bool:
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    return getattr(orig, "sqlstate", None) in _CONFLICT_SQLSTATES
