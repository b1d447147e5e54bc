"""Which database errors mean "not now" (503 "unavailable": the voter sends again) and which
are bugs or lasting conditions (500 "internal": sending again would fail the same way), as
bulletin.store.is_unavailable decides from the drivers' own error codes; and what the logs
may say of them (bulletin.store.describe: the type and code, never the text)."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg.errors as pg
import pytest
from sqlalchemy import exc

from bulletin.store import describe, is_unavailable
from tests.db_faults import sqlite_failure


def _wrapped(orig: BaseException) -> exc.DBAPIError:
    """The SQLAlchemy error a statement raises for the driver's ``orig``."""
    base = sqlite3.Error if isinstance(orig, sqlite3.Error) else psycopg.Error
    wrapped = exc.DBAPIError.instance("SELECT 1", {}, orig, base)
    assert isinstance(wrapped, exc.DBAPIError)  # as SQLAlchemy raises it: OperationalError...
    return wrapped


def _sqlite(sql: str, tmp_path, busy: bool = False) -> sqlite3.Error:
    return sqlite_failure(tmp_path / "x.db", sql, busy)


@pytest.mark.parametrize(
    "orig",
    [
        pg.AdminShutdown("terminating connection due to administrator command"),  # 57P01
        pg.CannotConnectNow("the database system is starting up"),  # 57P03
        pg.TooManyConnections("sorry, too many clients already"),  # 53300
        pg.SerializationFailure("could not serialize access"),  # 40001
        pg.DeadlockDetected("deadlock detected"),  # 40P01
        pg.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"),  # 25006
        psycopg.OperationalError("connection failed: Connection refused"),  # no SQLSTATE
        psycopg.OperationalError("consuming input failed: server closed the connection"),
        # libpq reports a refused login without a code, like a refused connection: it too
        # is "unavailable" (the command that opens the board prints why when it starts)
        psycopg.OperationalError("connection failed: password authentication failed"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_postgresql_errors_that_pass(orig):
    assert is_unavailable(_wrapped(orig))


@pytest.mark.parametrize(
    "orig",
    [
        pg.QueryCanceled("canceling statement due to statement timeout"),  # 57014: every time
        pg.UndefinedTable('relation "ballots" does not exist'),  # 42P01: a schema not migrated
        pg.SyntaxError("syntax error at or near"),  # 42601: a bug
        pg.UniqueViolation("duplicate key value"),  # 23505: a bug (the board checks first)
    ],
    ids=lambda e: type(e).__name__,
)
def test_postgresql_errors_that_are_bugs_or_last(orig):
    assert not is_unavailable(_wrapped(orig))


def test_sqlite_busy_passes_and_a_missing_table_does_not(tmp_path):
    busy = _sqlite("BEGIN IMMEDIATE", tmp_path, busy=True)
    assert busy.sqlite_errorname == "SQLITE_BUSY"
    assert is_unavailable(_wrapped(busy))
    missing = _sqlite("SELECT * FROM nowhere", tmp_path)
    assert isinstance(missing, sqlite3.OperationalError)  # the same class as "busy"
    assert not is_unavailable(_wrapped(missing))


def test_sqlites_extended_busy_and_locked_codes_pass():
    for name in ("SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY", "SQLITE_LOCKED_SHAREDCACHE"):
        e = sqlite3.OperationalError("database is locked")
        e.sqlite_errorname = name  # as sqlite3 sets it for that extended code
        assert is_unavailable(_wrapped(e)), name
    e = sqlite3.OperationalError("disk I/O error")
    e.sqlite_errorname = "SQLITE_IOERR"
    assert not is_unavailable(_wrapped(e))


def test_a_dropped_connection_and_an_empty_pool_pass():
    assert is_unavailable(exc.DisconnectionError("connection invalidated"))
    assert is_unavailable(exc.TimeoutError("QueuePool limit of size 32 overflow 32 reached"))
    dropped = _wrapped(pg.SyntaxError("x"))
    dropped.connection_invalidated = True  # SQLAlchemy's dialect saw the connection go
    assert is_unavailable(dropped)
    assert not is_unavailable(RuntimeError("not a database error"))


def test_the_logs_get_the_type_and_code_never_the_text(tmp_path):
    refused = _wrapped(psycopg.OperationalError('connection to server at "10.0.0.5" failed'))
    assert describe(refused) == "OperationalError"
    assert describe(_wrapped(pg.AdminShutdown("terminating"))) == "AdminShutdown 57P01"
    busy = _wrapped(_sqlite("BEGIN IMMEDIATE", tmp_path, busy=True))
    assert describe(busy) == "OperationalError SQLITE_BUSY"
    assert describe(RuntimeError("secret")) == "RuntimeError"
