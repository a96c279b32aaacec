"""Sorting exceptions: our own infrastructure down (pause, never fail) vs. everything else."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy import exc as sa_exc

from stream_app.pipeline.failures import is_conflict, is_infrastructure_down


class FakeDriverError(Exception):
    """What a DB-API driver raises: a message and a SQLSTATE (what SQLAlchemy's asyncpg adapter sets)."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def caused_by(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


def in_context_of(exc: BaseException, context: BaseException) -> BaseException:
    exc.__context__ = context
    return exc


def sa_error(
    cls: type[sa_exc.DBAPIError], orig: BaseException, *, connection_invalidated: bool = False
) -> sa_exc.DBAPIError:
    return cls("SELECT 1", None, orig, connection_invalidated=connection_invalidated)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(ConnectionRefusedError(111, "Connection refused"), id="connection-refused"),
        pytest.param(ConnectionResetError(104, "Connection reset by peer"), id="connection-reset"),
        pytest.param(asyncpg.CannotConnectNowError("the database system is starting up"), id="cannot-connect-now"),
        pytest.param(asyncpg.exceptions.AdminShutdownError("terminating connection"), id="admin-shutdown"),
        pytest.param(asyncpg.TooManyConnectionsError("too many clients already"), id="too-many-connections"),
        pytest.param(asyncpg.ConnectionDoesNotExistError("connection was closed"), id="connection-closed"),
        pytest.param(KafkaConnectionError("no broker"), id="kafka-connection"),
        pytest.param(
            sa_error(sa_exc.OperationalError, ConnectionRefusedError(111, "Connection refused")),
            id="operational-error-wrapping-connection-refused",
        ),
        pytest.param(
            sa_error(sa_exc.OperationalError, caused_by(FakeDriverError("adapted"), ConnectionResetError())),
            id="operational-error-wrapping-an-adapted-connection-error",
        ),
        pytest.param(
            sa_error(sa_exc.InterfaceError, FakeDriverError("connection is closed")),
            id="interface-error",
        ),
        pytest.param(
            sa_error(
                sa_exc.OperationalError, FakeDriverError("server closed the connection"), connection_invalidated=True
            ),
            id="connection-invalidated",
        ),
        pytest.param(caused_by(RuntimeError("flush failed"), ConnectionRefusedError()), id="chained-cause"),
        pytest.param(in_context_of(KeyError("x"), asyncpg.CannotConnectNowError("starting up")), id="chained-context"),
        pytest.param(
            caused_by(ValueError("outer"), caused_by(RuntimeError("middle"), TimeoutError())),
            id="two-links-down",
        ),
    ],
)
def test_connection_failures_are_infrastructure_down(exc: BaseException) -> None:
    assert is_infrastructure_down(exc) is True


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(ValueError("bad value"), id="value-error"),
        pytest.param(KeyError("repoid"), id="key-error"),
        pytest.param(
            sa_error(sa_exc.IntegrityError, FakeDriverError("duplicate key value", "23505")),
            id="integrity-error",
        ),
        pytest.param(
            sa_error(sa_exc.ProgrammingError, FakeDriverError('relation "x" does not exist', "42P01")),
            id="programming-error",
        ),
        pytest.param(
            sa_error(sa_exc.OperationalError, FakeDriverError("division by zero", "22012")),
            id="operational-error-not-about-connections",
        ),
        pytest.param(asyncpg.UniqueViolationError("duplicate key"), id="asyncpg-unique-violation"),
        pytest.param(caused_by(RuntimeError("outer"), ValueError("inner")), id="chain-without-connection-error"),
    ],
)
def test_other_errors_are_not_infrastructure_down(exc: BaseException) -> None:
    assert is_infrastructure_down(exc) is False


def test_a_cancelled_query_is_not_infrastructure_down() -> None:
    # 57014 query_canceled (statement_timeout, pg_cancel_backend) while PostgreSQL is up and
    # reachable. The module means its Operator Intervention entry for "admin shutdown, crash
    # shutdown"; counting a cancelled query as an outage makes the pipeline re-run it for ever.
    cancelled = asyncpg.QueryCanceledError("canceling statement due to statement timeout")

    assert is_infrastructure_down(cancelled) is False
    assert (
        is_infrastructure_down(sa_error(sa_exc.OperationalError, caused_by(FakeDriverError("x"), cancelled))) is False
    )


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(FakeDriverError("could not serialize access", "40001"), id="serialization-40001"),
        pytest.param(FakeDriverError("deadlock detected", "40P01"), id="deadlock-40P01"),
        pytest.param(asyncpg.SerializationError("could not serialize access"), id="asyncpg-serialization"),
        pytest.param(asyncpg.DeadlockDetectedError("deadlock detected"), id="asyncpg-deadlock"),
        pytest.param(
            sa_error(sa_exc.OperationalError, FakeDriverError("could not serialize access", "40001")),
            id="wrapped-by-sqlalchemy",
        ),
    ],
)
def test_serialization_failures_and_deadlocks_are_conflicts(exc: BaseException) -> None:
    assert is_conflict(exc) is True


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(FakeDriverError("duplicate key value", "23505"), id="unique-violation"),
        pytest.param(FakeDriverError("no sqlstate"), id="no-sqlstate"),
        pytest.param(ValueError("40001"), id="sqlstate-only-in-the-message"),
        pytest.param(sa_error(sa_exc.IntegrityError, FakeDriverError("duplicate", "23505")), id="wrapped-unique"),
        pytest.param(ConnectionRefusedError(), id="connection-refused"),
    ],
)
def test_other_errors_are_not_conflicts(exc: BaseException) -> None:
    assert is_conflict(exc) is False
