"""Database outages, classified: an app's database failing is a 503 (or 504), never a 500.

An app's handler that meets a database which is down, restarting, out of
connections or giving up on a lock raises its driver's error; the adapters'
handlers ask `outage_error(exc, method)` what that is to the client:

- REFUSED: the database turned the request away before doing anything (no
  connection: refused, timed out, too many; starting up or shutting down;
  no free connection in the pool): 503, nothing was applied;
- GAVE_UP: the database rolled the statement back (a deadlock, a
  serialization failure, a lock or statement timeout; SQLite busy): 503,
  nothing was applied. A deadlock or a serialization failure (PostgreSQL's
  40P01 and 40001, MySQL's and MariaDB's 1213) rolls the whole transaction
  back, the database says (`transaction_rolled_back`), so it is a 503 also
  after the request's handler ran, at its COMMIT: not a 504, since nothing
  of it can have been applied; not a 409 either, which asks the client to
  change something (RFC 9110 §15.5.10), when the same request, sent again
  under its key, may simply run (§15.6.4: a 503's condition is temporary,
  and Retry-After says when). SQLite says no such thing: its busy COMMIT
  leaves the transaction open, to be committed by a COMMIT again; it is a
  503 after the handler only when the database hooks saw that transaction
  rolled back before the error reached the app (`refused_commit`);
- GAVE_UP too: the database ran out of room for the request (its disk
  full, its memory out: PostgreSQL's 53100 and 53200, MySQL's table or
  disk full, SQLite's SQLITE_FULL and SQLITE_NOMEM), the statement failed
  and was rolled back; the answer says which (`Outage.reason`);
- LOST: the connection broke during the request (the server restarted or
  ended the session, ``KILL``, a network cut): whatever was in flight, a
  COMMIT among it, may have been applied. For a read that is a 503; for any
  other method a 504 outcome-unknown, whose retry carries the same
  Idempotency-Key (RFC 9110 §9.2.1: only GET and HEAD are reads here),
  unless the database hooks saw that nothing that may write had been sent
  (`_request_writes.nothing_sent`), or that every write sent was held in
  one PostgreSQL transaction block, never committed, on the connection
  whose session the error ended (`_request_writes.rolled_back_on`): the
  server rolled it back, a 503 then too.

As `_integrity.classify`, it reads the error's chain duck-typed (the
SQLSTATE of psycopg, psycopg2 and asyncpg errors, or the message of those
raised without one; the MySQL/MariaDB error number; SQLite's result code),
importing no driver; an `OSError` a driver raised as it is (asyncpg's
refused connection) is read from its traceback (`_outage_socket`), and the
app's own (a file, an HTTP client) is no outage, while a deadline of the
app's (``asyncio.timeout()``) that expired in a driver's call is one. Any
other database error (a missing table, a syntax error, a wrong password)
is the app's own bug or configuration: None, and the adapter's 500.
Redis (redis-py, sync or asyncio) fails a request the same ways but for
GAVE_UP; its errors are read by `_outage_redis`. The
driver's text goes to the log under an incident id (`_incidents`), never
into the answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final

from ._errors import Unavailable, WriteOutcomeUnknown
from ._incidents import log_incident, new_incident
from ._integrity import _chain, _from_database, _mysql_code
from ._outage_kind import Outage, OutageKind
from ._outage_redis import redis_outage, redis_reason
from ._outage_socket import deadline_outage, socket_outage
from ._preconditions import SAFE_METHODS
from ._request_writes import commit_failure, committed_writes, nothing_sent, rolled_back_on

__all__ = ["Outage", "OutageKind", "outage", "outage_error"]

# --- PostgreSQL (psycopg 3, psycopg2, asyncpg) ---------------------------------

# SQLSTATE classes and codes (PostgreSQL, Appendix A).
_PG_SQLSTATES: Final = {
    "08001": OutageKind.REFUSED,  # sqlclient_unable_to_establish_sqlconnection
    "08004": OutageKind.REFUSED,  # sqlserver_rejected_establishment_of_sqlconnection
    "53300": OutageKind.REFUSED,  # too_many_connections
    "57P03": OutageKind.REFUSED,  # cannot_connect_now (starting up, shutting down)
    "40001": OutageKind.GAVE_UP,  # serialization_failure
    "40P01": OutageKind.GAVE_UP,  # deadlock_detected
    "55P03": OutageKind.GAVE_UP,  # lock_not_available (lock_timeout, NOWAIT)
    "57014": OutageKind.GAVE_UP,  # query_canceled (statement_timeout)
    # idle_in_transaction_session_timeout: the server ended a session whose
    # transaction idled too long, rolling it back.
    "25P03": OutageKind.GAVE_UP,
    # idle_session_timeout: the server ended a session idle too long (a pooled
    # connection, handed out after); a write of the request may have come before.
    "57P05": OutageKind.LOST,
    # read_only_sql_transaction: a hot standby (a failover left the app on a
    # replica), or a primary set read-only; the statement ran nothing.
    "25006": OutageKind.REFUSED,
    "53100": OutageKind.GAVE_UP,  # disk_full
    "53200": OutageKind.GAVE_UP,  # out_of_memory
    "57P01": OutageKind.LOST,  # admin_shutdown (a restart, pg_terminate_backend)
    "57P02": OutageKind.LOST,  # crash_shutdown
}
# Errors libpq raises without a SQLSTATE, told by their message.
_PG_REFUSED: Final = re.compile(
    r"^(?:connection failed:|could not connect to server|could not translate host name"
    r"|connection to server (?:at|on) .* failed|.*timeout expired"
    r"|couldn't get a connection after)",
    re.DOTALL,
)
# A connection the server turned away with a FATAL: the server's state, or
# the app's configuration (no such database or role, a wrong password: None).
_PG_FATAL_REFUSED: Final = re.compile(
    r"the database system is (?:starting up|shutting down|in recovery mode|not yet accepting)"
    r"|too many clients|remaining connection slots are reserved|too many connections"
)
_PG_LOST: Final = re.compile(
    r"server closed the connection unexpectedly|the connection is (?:closed|lost)"
    r"|terminating connection|consuming input failed|no connection to the server"
    r"|could not (?:receive|send) data (?:from|to) server|connection has been closed"
    r"|SSL (?:SYSCALL error|connection has been closed)|connection was closed"
)


def _postgres(error: BaseException) -> OutageKind | None:
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        kind = _PG_SQLSTATES.get(sqlstate)
        if kind is None and sqlstate.startswith("08"):
            kind = OutageKind.LOST  # connection_exception: the connection failed under it
        return kind
    if type(error).__module__.split(".")[0] not in ("psycopg", "psycopg2", "psycopg_pool"):
        return None
    message = str(error)
    if _PG_REFUSED.search(message):
        fatal = "FATAL:" in message and not _PG_FATAL_REFUSED.search(message)
        return None if fatal else OutageKind.REFUSED
    if _PG_LOST.search(message):
        return OutageKind.LOST
    return None


def _asyncpg_closed(error: BaseException) -> bool:
    """asyncpg's use of a connection that broke before, or as it broke: lost.

    "connection is closed" (an InterfaceError) is a connection used after it
    broke (SQLAlchemy's pool hands it out again); like psycopg's "the
    connection is closed", it is taken as lost. "cannot switch to state N;
    another operation (M) is in progress" (an InternalClientError) is
    asyncpg's own state machine tripped by the server ending the session
    under a statement (a restart, a failover, pg_terminate_backend:
    sqlalchemy/sqlalchemy#13241); an app using one connection from two tasks
    gets an InterfaceError, "cannot perform operation", instead. Neither is
    a PEP 249 class, so `_from_database` does not know them.
    """
    kind = type(error)
    if not kind.__module__.startswith("asyncpg."):
        return False
    if kind.__name__ == "InterfaceError":
        return str(error) == "connection is closed"
    return kind.__name__ == "InternalClientError" and _ASYNCPG_TRIPPED.match(str(error)) is not None


#: asyncpg's words when the session ended under a statement (`_asyncpg_closed`).
_ASYNCPG_TRIPPED: Final = re.compile(
    r"cannot switch to state \d+; another operation \(\d+\) is in progress$"
)


# --- MySQL and MariaDB -----------------------------------------------------------

# Client and server error numbers (https://mariadb.com/kb/en/mariadb-error-code-reference/).
_MYSQL_CODES: Final = {
    2002: OutageKind.REFUSED,  # CR_CONNECTION_ERROR
    2003: OutageKind.REFUSED,  # CR_CONN_HOST_ERROR
    2005: OutageKind.REFUSED,  # CR_UNKNOWN_HOST
    1040: OutageKind.REFUSED,  # ER_CON_COUNT_ERROR (too many connections)
    1203: OutageKind.REFUSED,  # ER_TOO_MANY_USER_CONNECTIONS
    1021: OutageKind.GAVE_UP,  # ER_DISK_FULL
    1037: OutageKind.GAVE_UP,  # ER_OUTOFMEMORY
    1041: OutageKind.GAVE_UP,  # ER_OUT_OF_RESOURCES
    1114: OutageKind.GAVE_UP,  # ER_RECORD_FILE_FULL ("The table 't' is full": disk or memory)
    1205: OutageKind.GAVE_UP,  # ER_LOCK_WAIT_TIMEOUT
    1213: OutageKind.GAVE_UP,  # ER_LOCK_DEADLOCK
    1317: OutageKind.GAVE_UP,  # ER_QUERY_INTERRUPTED (KILL QUERY)
    1969: OutageKind.GAVE_UP,  # ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
    3024: OutageKind.GAVE_UP,  # ER_QUERY_TIMEOUT (MySQL max_execution_time)
    1053: OutageKind.LOST,  # ER_SERVER_SHUTDOWN
    1927: OutageKind.LOST,  # ER_CONNECTION_KILLED (MariaDB)
    2006: OutageKind.LOST,  # CR_SERVER_GONE_ERROR
    2013: OutageKind.LOST,  # CR_SERVER_LOST
    2055: OutageKind.LOST,  # CR_SERVER_LOST_EXTENDED
    4031: OutageKind.LOST,  # ER_CLIENT_INTERACTION_TIMEOUT (MySQL)
}


#: ER_OPTION_PREVENTS_STATEMENT's words when the option is the server's read-only mode
#: (a replica after a failover, Aurora's reader), not another (--secure-file-priv).
_MYSQL_READ_ONLY: Final = re.compile(r"--(?:super-)?read[-_]only\b")


def _mysql(error: BaseException) -> OutageKind | None:
    code, message = _mysql_code(error)
    if code in (1290, 1836):  # ER_OPTION_PREVENTS_STATEMENT, ER_READ_ONLY_MODE
        return OutageKind.REFUSED if _mysql_read_only(code, message) else None
    return _MYSQL_CODES.get(code) if code is not None else None


def _mysql_read_only(code: int, message: str) -> bool:
    return code == 1836 or _MYSQL_READ_ONLY.search(message) is not None


# --- SQLite ----------------------------------------------------------------------

# Primary result codes (https://sqlite.org/rescode.html); an extended code
# (SQLITE_BUSY_RECOVERY, SQLITE_IOERR_WRITE) carries its primary one in its low byte.
_SQLITE_CODES: Final = {
    # SQLITE_READONLY: the file cannot be written (its file system read-only,
    # the file moved away); checked before anything is written.
    8: OutageKind.REFUSED,
    5: OutageKind.GAVE_UP,  # SQLITE_BUSY: another connection holds the lock
    6: OutageKind.GAVE_UP,  # SQLITE_LOCKED: a table locked in this connection's own cache
    7: OutageKind.GAVE_UP,  # SQLITE_NOMEM
    13: OutageKind.GAVE_UP,  # SQLITE_FULL: the disk is full (ENOSPC), or max_page_count
    # SQLITE_IOERR: the file could not be written or read. SQLite rolls the
    # transaction back, but a write whose COMMIT failed is not promised here:
    # an app may not record its keys in the same transaction.
    10: OutageKind.LOST,
}
# The same, told by the message when sqlite3 gives no code (Python before 3.11).
_SQLITE_MESSAGES: Final = (
    ("database is locked", 5),
    ("database table is locked", 6),
    ("out of memory", 7),
    ("database or disk is full", 13),
    ("disk I/O error", 10),
    ("attempt to write a readonly database", 8),
)


def _sqlite_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    if type(error).__module__ in ("sqlite3", "_sqlite3"):
        message = str(error)
        return next((c for text, c in _SQLITE_MESSAGES if message.startswith(text)), None)
    return None


def _sqlite(error: BaseException) -> OutageKind | None:
    code = _sqlite_code(error)
    return _SQLITE_CODES.get(code) if code is not None else None


# --- resources ----------------------------------------------------------------------

_DISK_FULL: Final = "the database's disk is full"
_NO_MEMORY: Final = "the database is out of memory"
_DISK_FAILED: Final = "the database could not write to its disk (an I/O error)"
_READ_ONLY: Final = "the database is read-only (a replica, or its disk or settings read-only)"
_PG_SHORTAGES: Final = {"53100": _DISK_FULL, "53200": _NO_MEMORY, "25006": _READ_ONLY}
_MYSQL_SHORTAGES: Final = {
    1021: _DISK_FULL,
    1037: _NO_MEMORY,
    1041: _NO_MEMORY,
    1114: "a table of the database is full (its disk, or its memory for a MEMORY table)",
}
_SQLITE_SHORTAGES: Final = {7: _NO_MEMORY, 13: _DISK_FULL, 10: _DISK_FAILED, 8: _READ_ONLY}


def _shortage(error: BaseException, dialect: str) -> str | None:
    """What ran out, in the client's words, when the database's error says so."""
    if dialect == "postgresql":
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        return _PG_SHORTAGES.get(sqlstate) if isinstance(sqlstate, str) else None
    if dialect == "mysql":
        code, message = _mysql_code(error)
        if code in (1290, 1836) and _mysql_read_only(code, message):
            return _READ_ONLY
        return _MYSQL_SHORTAGES.get(code) if code is not None else None
    code = _sqlite_code(error)
    return _SQLITE_SHORTAGES.get(code) if code is not None else None


# --- pools --------------------------------------------------------------------------


def _pool(error: BaseException) -> OutageKind | None:
    """SQLAlchemy's pool timing out ("QueuePool limit ... reached"): no connection to be had."""
    kind = type(error)
    if kind.__module__ == "sqlalchemy.exc" and kind.__name__ == "TimeoutError":
        return OutageKind.REFUSED
    return None


_DIALECTS: Final = (("postgresql", _postgres), ("mysql", _mysql), ("sqlite", _sqlite))


def outage(exc: BaseException) -> Outage | None:
    """The outage `exc` reports (anywhere in its chain), or None when it is not one."""
    for error in _chain(exc):
        if (kind := _pool(error)) is not None:
            return Outage(kind, "pool")
        if (found := socket_outage(error) or deadline_outage(error)) is not None:
            return Outage(*found)
        if (kind := redis_outage(error)) is not None:
            return Outage(kind, "redis", redis_reason(error))
        if _asyncpg_closed(error):
            return Outage(OutageKind.LOST, "postgresql")
        if not _from_database(error):
            continue
        for dialect, read in _DIALECTS:
            if (kind := read(error)) is not None:
                return Outage(kind, dialect, _shortage(error, dialect))
    return None


# --- a transaction the database rolled back ------------------------------------------

#: PostgreSQL: an error aborts its whole transaction block, and these two say that a
#: concurrent transaction is why (at COMMIT too: SERIALIZABLE's checks, deferred ones).
_PG_ROLLED_BACK: Final = frozenset({"40001", "40P01"})  # serialization_failure, deadlock
#: InnoDB rolls back the whole transaction of a deadlock's victim (ER_LOCK_DEADLOCK); a lock
#: wait timeout (1205) only the statement, unless innodb_rollback_on_timeout, which the
#: error does not tell: the transaction may go on, and commit what came before.
_MYSQL_ROLLED_BACK: Final = frozenset({1213})


def transaction_rolled_back(exc: BaseException) -> bool:
    """Whether `exc` says that the database rolled its whole transaction back for another's.

    A serialization failure or a deadlock (its SQLSTATE or error number on
    the driver's error, anywhere in the chain): nothing of the transaction
    was applied, and nothing of it can be later, whoever commits the
    connection next. SQLite's SQLITE_BUSY is no such word: a COMMIT it
    refuses leaves the transaction open, to be committed by a COMMIT again
    (https://sqlite.org/lang_transaction.html), and a busy statement
    undoes itself alone.
    """
    for error in _chain(exc):
        if not _from_database(error):
            continue
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(sqlstate, str):
            return sqlstate in _PG_ROLLED_BACK
        code, _ = _mysql_code(error)
        if code is not None:
            return code in _MYSQL_ROLLED_BACK
    return False


#: SQLite's busy and locked: a COMMIT they refuse leaves its transaction open, uncommitted.
_SQLITE_COMMIT_REFUSED: Final = frozenset({5, 6})


def refused_commit(exc: BaseException) -> bool | None:
    """Whether SQLite's refused COMMIT that `exc` reports was rolled back; None: not one.

    SQLite's busy (or locked) COMMIT commits nothing and keeps the
    transaction open ("the COMMIT can be retried later",
    https://sqlite.org/lang_transaction.html): it is applied if anything
    commits it after (the app's COMMIT again; sqlite3 as Django turns
    autocommit back on). The database hooks tell which COMMIT raised it,
    and whether a ROLLBACK ended its transaction before the error reached
    the app (`_request_writes.note_commit_failed`: SQLAlchemy's hooks send
    one, Django's ``atomic`` does): True, nothing of it was or can be
    applied; False, it may be. A disk full or an I/O error at COMMIT (the
    file may be written) is no refusal: None, as is an error no hook saw.
    """
    if not any(
        _from_database(error) and _sqlite_code(error) in _SQLITE_COMMIT_REFUSED
        for error in _chain(exc)
    ):
        return None
    return commit_failure(exc)


def _session_ended(error: BaseException | None) -> bool:
    """Whether `error` ended its PostgreSQL session (PostgreSQL's or a driver's word for it).

    A deadline of the app's that expired in a driver's call (`deadline_outage`)
    may leave the session open: not ended.
    """
    if error is None:
        return False
    for raised in _chain(error):
        if _asyncpg_closed(raised) or socket_outage(raised) == (OutageKind.LOST, "postgresql"):
            return True
        if _from_database(raised) and _postgres(raised) is OutageKind.LOST:
            return True
    return False


_DETAILS: Final = {
    OutageKind.REFUSED: "the database does not answer",
    OutageKind.GAVE_UP: "the database gave the request up (a lock, a deadlock or a timeout)",
    OutageKind.LOST: "the connection to the database broke during the request",
}


#: The detail of a transaction the database rolled back for a concurrent one.
_CONFLICTED: Final = (
    "the database rolled the request's transaction back in a conflict with a concurrent "
    "one (a serialization failure or a deadlock): nothing was applied; send the same "
    "request again"
)


#: The detail of SQLite's busy COMMIT whose transaction was rolled back.
_COMMIT_REFUSED: Final = (
    "the database refused the request's COMMIT (another connection held its file: SQLite"
    " busy) and its transaction was rolled back: nothing was applied; send the same "
    "request again"
)


def describe(found: Outage) -> str:
    """What failed, in the words of a 503's (or 504's) detail."""
    if found.reason is None:
        return _DETAILS[found.kind]
    if found.kind is OutageKind.GAVE_UP:
        return f"{found.reason}: the request was rolled back"
    return found.reason


#: What a client of a write whose outcome is unknown does: the key of a request
#: recorded with its write in one transaction tells (the service's, a transactional
#: policy's); a key that recorded this answer replays it (`_idempotency` then says so).
RESEND_TO_LEARN: Final = (
    "send the same request again with its Idempotency-Key to learn which, or read the "
    "resource if it had none"
)


def outage_error(
    exc: BaseException,
    method: str,
    *,
    safe_methods: Iterable[str] = SAFE_METHODS,
    handler_ran: bool = False,
    committed: bool | None = None,
) -> Unavailable | WriteOutcomeUnknown | None:
    """The 503 (or 504) for a request that `exc` failed, its cause logged; None if no outage.

    A connection lost under a request that may write (any method but a
    read's) leaves the write's outcome unknown: 504, so its client resends
    it with its Idempotency-Key rather than assume it was not applied;
    unless the database hooks saw the request fail before it sent any
    statement that may write (`_request_writes.nothing_sent`: its pooled
    connection found dead at its first SELECT), which applied nothing: 503.
    An error no hook saw (a driver used directly) stays a 504. So
    does any outage after the request's handler ran (`handler_ran`: a
    framework's middleware saving a session on the way out), whatever
    the handler wrote is in the database already, or may be, unless the
    database says that it rolled the transaction back for a concurrent one
    (`transaction_rolled_back`: a serialization failure, a deadlock, at
    COMMIT too), or that SQLite refused its COMMIT and the hooks saw the
    transaction rolled back (`refused_commit`),
    which is a 503 as it is in the handler; and any outage after a
    transaction of the request that wrote has committed (`committed`;
    None: as the database hooks saw it, `_request_writes.committed_writes`),
    since a 503 says that nothing was applied, and its client would send
    the request again.
    """
    found = outage(exc)
    if found is None:
        return None
    what = describe(found)
    incident = new_incident()
    unsafe = method.upper() not in set(safe_methods)
    if committed is None:
        committed = committed_writes()
    # A connection lost before the request sent anything that may write applied nothing
    # (the hooks saw the failing statement, and all before it, read only); so did one
    # whose session ended with every write of the request in its uncommitted block.
    unsent = nothing_sent(exc)
    rolled_back = not unsent and _session_ended(rolled_back_on(exc))
    lost = found.kind is OutageKind.LOST and not (unsent or rolled_back)
    # Nothing of a transaction the database rolled back for another's is in it, or can be.
    conflicted = found.kind is OutageKind.GAVE_UP and transaction_rolled_back(exc)
    # So is one whose COMMIT SQLite refused, then rolled back before the app saw it; one
    # left open may be committed yet, in the handler too.
    refused = refused_commit(exc) if found.kind is OutageKind.GAVE_UP and not conflicted else None
    left_open = refused is False
    if unsafe and (lost or left_open or (handler_ran and not (conflicted or refused)) or committed):
        if left_open:
            what = f"{what}, at its COMMIT, whose transaction was left open"
        elif handler_ran:
            what = f"{what}, after the request was handled"
        elif committed and found.kind is not OutageKind.LOST:
            what = f"{what}, after a transaction of the request had committed"
        what = f"{what}: it may have been applied; {RESEND_TO_LEARN}"
        log_incident(incident, f"504 {what}", exc, level=logging.WARNING)
        return WriteOutcomeUnknown(what, incident=incident)
    if unsafe and found.kind is OutageKind.LOST:
        what = (
            f"{what}, before its transaction's COMMIT was sent: the database rolled it back,"
            " nothing was applied"
            if rolled_back
            else f"{what}, before it sent anything that writes: nothing was applied"
        )
    if conflicted:
        what = _CONFLICTED
    elif refused:
        what = _COMMIT_REFUSED
    log_incident(incident, f"503 {what}", exc, level=logging.WARNING)
    return Unavailable(what, incident=incident)
