"""SQLAlchemy's commits, told to the request that made them (`httpconflict._request_writes`).

Theory of operation: listeners on every `Engine` and `Pool` (added once,
when this package is imported) mark a connection that ran a statement
that writes, and count its transaction's commit for the request running
here. SQLAlchemy's ``commit`` event comes before the database's COMMIT:
a COMMIT that then fails (its connection lost: the outcome is the lost
connection's to tell) is taken back in ``handle_error``, which comes
before anything else happens on that connection; the next ``begin``, or
the connection's return to its pool, says the COMMIT went through. Each
statement is told before it is sent (`note_statement`: one that may write
makes a lost connection after it a 504, unless PostgreSQL holds it in a
transaction block whose COMMIT is never sent), with the driver's
connection it goes on; each COMMIT before it is sent (`note_commit_sent`:
also a two-phase PREPARE); and each error of a statement or COMMIT as it
is raised (`note_failure`). A COMMIT that failed and left its transaction
open (SQLite's busy COMMIT) has it rolled back at once, and told
(`note_commit_failed`): nothing of it was or can be applied. An `AsyncEngine` runs these on its sync
engine, in the context of the task that awaits it.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import Pool

from .._request_writes import (
    RequestWrites,
    current_writes,
    database_name,
    keys_statement,
    note_commit_failed,
    note_commit_sent,
    note_failure,
    note_statement,
    writes,
)

#: In `Connection.info` (the pooled connection's): its transaction wrote.
_WROTE: Final = "httpconflict.wrote"
#: The request whose count a COMMIT under way added to, and the database.
_COMMITTING: Final = "httpconflict.committing"


def database_of(conn: Connection) -> str:
    """The database `conn` reaches, as `_request_writes` names it (a password is no part of it)."""
    url = conn.engine.url
    return database_name(conn.dialect.name, url.host, url.port, url.database)


def _info(conn: Connection | None) -> dict[Any, Any]:
    """The pooled connection's `info`, or a throwaway dict once the connection is invalid.

    (An invalidated connection raises for its `info`: it has none until it
    reconnects. What it held is gone with it: the marks of a connection
    lost under a COMMIT are the lost connection's, a 504 already.)
    """
    if conn is None or conn.invalidated or conn.closed:
        return {}
    try:
        return conn.info
    except Exception:  # an invalid transaction: the same
        return {}


def _driver(conn: Connection | None) -> tuple[Any, bool | None]:
    """The driver's connection under `conn` (None once invalid), and whether it autocommits.

    (The autocommit of the DB-API connection: SQLAlchemy's asyncpg adapter
    begins its transactions itself, which the asyncpg connection cannot tell.)
    """
    if conn is None or conn.invalidated or conn.closed:
        return None, None
    try:
        pooled = conn.connection  # valid: no reconnection
        found = getattr(pooled.dbapi_connection, "autocommit", None)
        return pooled.driver_connection, found if isinstance(found, bool) else None
    except Exception:
        return None, None


def _before_execute(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
    if keys_statement():
        return  # a key store's claim or record: not the request's write
    driver, autocommit = _driver(conn)
    note_statement(statement, driver, vendor=conn.dialect.name, autocommit=autocommit)
    if current_writes() is None:
        return  # outside a watched request (a `begin` clears what a request left)
    info = _info(conn)
    info.pop(_COMMITTING, None)
    if not info.get(_WROTE) and writes(statement):
        info[_WROTE] = True


def _commit(conn: Connection) -> None:
    record = current_writes()
    if record is None:
        return
    driver, _autocommit = _driver(conn)
    if driver is not None:
        note_commit_sent(driver)
    info = _info(conn)
    if info.pop(_WROTE, False):
        database = database_of(conn)
        record.add(database)
        info[_COMMITTING] = (record, database)


def _prepared(conn: Connection, xid: Any) -> None:
    """A two-phase PREPARE: the transaction outlives its session, as if committed."""
    driver, _ = _driver(conn)
    if driver is not None:
        note_commit_sent(driver)


def _rollback(conn: Connection) -> None:
    _info(conn).pop(_WROTE, None)


def _begin(conn: Connection) -> None:
    _info(conn).pop(_COMMITTING, None)


def _failed(context: ExceptionContext) -> None:
    driver, _ = _driver(context.connection)
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None:
            note_failure(error, driver)
    committing: tuple[RequestWrites, str] | None = _info(context.connection).pop(_COMMITTING, None)
    if committing is not None:
        record, database = committing
        record.add(database, -1)  # the COMMIT failed: it may not have happened
        record.failed_commits += 1
        undone = _undo_open_transaction(context.connection)
        for error in (context.original_exception, context.sqlalchemy_exception):
            if error is not None:
                note_commit_failed(error, undone=undone)


def _undo_open_transaction(conn: Connection | None) -> bool:
    """Roll back the transaction a failed COMMIT left open; whether it was, and is no more.

    SQLite keeps it open when its COMMIT fails busy: nothing was committed.
    SQLAlchemy takes the transaction for ended, so nothing of its would
    commit it again, but the driver would, at the connection's next COMMIT
    (the pool's reset rolls it back, `_end_open_transaction`, once the
    connection is back, maybe after the answer went out). Rolled back
    here, before the error reaches the app, nothing of it can be applied.
    Drivers that tell no ``in_transaction`` (all but sqlite3 and
    aiosqlite) end a failed COMMIT's transaction themselves: nothing to do.
    """
    if conn is None or conn.invalidated or conn.closed:
        return False
    try:
        pooled = conn.connection
        driver = pooled.driver_connection
        dbapi = pooled.dbapi_connection
        if dbapi is None or getattr(driver, "in_transaction", None) is not True:
            return False
        dbapi.rollback()
        return getattr(driver, "in_transaction", None) is False
    except Exception:  # the ROLLBACK failed too: the pool's reset, or its close, ends it
        return False


def _checkin(dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info.pop(_COMMITTING, None)
        record.info.pop(_WROTE, None)


def _end_open_transaction(dbapi_connection: Any, record: Any, state: Any) -> None:
    """Roll back a transaction still open on a connection back in its pool.

    SQLite keeps a transaction open when its COMMIT fails (a deferred
    foreign key, SQLITE_BUSY: "the transaction remains active"), while
    SQLAlchemy counts the COMMIT as the transaction's end and skips its
    reset (``transaction_was_reset``): the connection went back to the pool
    holding the write lock and the refused rows, and the next session on it
    committed them with its own (a write answered 503 or 504, applied by
    another request; every later COMMIT refused again for the same foreign
    key; "database is locked" for every other connection). The driver's
    ``in_transaction`` (sqlite3, aiosqlite) tells; other drivers have none
    and end a failed COMMIT's transaction themselves.
    """
    if getattr(state, "terminate_only", False) or not getattr(state, "asyncio_safe", True):
        return  # the pool closes it, which rolls back
    driver = getattr(record, "driver_connection", None) if record is not None else None
    if getattr(driver if driver is not None else dbapi_connection, "in_transaction", False) is True:
        dbapi_connection.rollback()


def track_commits() -> None:
    """Listen to every engine's commits (done on import; again does nothing)."""
    if event.contains(Engine, "commit", _commit):
        return
    event.listen(Engine, "before_cursor_execute", _before_execute)
    event.listen(Engine, "commit", _commit)
    event.listen(Engine, "prepare_twophase", _prepared)
    event.listen(Engine, "rollback", _rollback)
    event.listen(Engine, "begin", _begin)
    event.listen(Engine, "handle_error", _failed)
    event.listen(Pool, "checkin", _checkin)
    event.listen(Pool, "reset", _end_open_transaction)
