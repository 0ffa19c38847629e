"""Writes a request has committed: what a failure after them must not deny.

Theory of operation: a request that commits one transaction and then fails
(its database drops before the second, which gives a lock up, or the app
raises) has been applied in part. Its answer must not say "nothing was
applied" (a 503 ``unavailable``, whose client resends), and an
Idempotency-Key must not be released for a retry to run it again. So the
request is watched while it runs: an adapter opens a `RequestWrites` for it
(`watching_writes`: the idempotency middlewares around the app, the
frameworks' ``install`` around each request), the database hooks mark it
each time a transaction that wrote commits (`note_commit`: SQLAlchemy's
engine events, Django's connections), and the core reads it: the outage
mapping answers 504 ``outcome-unknown`` instead of 503, and the key's flow
records the answer instead of releasing the key.

The hooks also tell what the request has sent (`note_statement`): once a
statement that may write (`_read_only_sql.read_only` cannot prove it
changes nothing) has gone to any database, a connection lost after it may
have applied it, or its COMMIT. Before, a statement the hooks saw fail
(`note_failure`) applied nothing: the outage mapping answers 503, whose
client sends the request again (`nothing_sent`). A statement that may write
sent where no request is watched (an app's middleware outside the
adapter's) marks the context it ran in (`_SENT_UNWATCHED`), and the
request watched next in it starts as one that sent a write: in doubt, 504.
The mark is one object that every copy of the context shares, so the first
watch to read it takes it for all of them, and an adapter that sees a
request end, or the server start (`forget_unwatched`), takes it too: a
write sent at import time (``create_all``) is no request's, and neither is
a write of a request that ended, on a thread a server reuses.

A write sent to PostgreSQL inside a transaction block is held until that
block's COMMIT (`_session_transactions`): the hooks name the driver's
connection it went on, and it counts as pending on that connection, not
sent. It becomes sent once the block's COMMIT is sent (`note_commit_sent`,
or ``COMMIT`` as text), or once the connection is found outside that block
at its next statement (a COMMIT no hook saw). A connection lost under a
statement the hooks saw it raise, while every write of the request is
pending on it and nothing committed, had its block rolled back by the
server: nothing was applied (`rolled_back_on`), a 503 as well.

The record lives in a context variable, so the request's threads (a sync
view run in a thread pool copies the context) and tasks mark the same one;
a hook that finds none (a write outside any request, a worker of the
app's own) marks nothing. A transaction that wrote is one that ran a
statement other than a read (`writes`): ``SELECT``, ``SHOW``, ``EXPLAIN``,
``SET`` and transaction control do not count; anything else does, when in
doubt too.

Each commit is counted for its database too (`database_name`: the same
database, whichever engine, alias or driver reaches it). That decides
the one mistake an app can make with a transactional Idempotency-Key:
recording the answer after the request already committed a write to the
key's database (`check_first_write`). A worker killed between the two
leaves the write without its key, and a retry, which is run before its
record is refused, applies it again. Refused, the mistake shows on the
request that makes it, crash or not. A commit that only read, or one to
another database (which no transaction of the key's could hold), is no
such mistake.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Final

from ._errors import IdempotencyKeyRecordedLate
from ._hosts import is_loopback
from ._orm_hooks import hook_loaded_orms
from ._read_only_sql import read_only
from ._session_transactions import (
    TransactionState,
    ends_transaction,
    held_until_commit,
    transaction_state,
)

__all__ = [
    "RequestWrites",
    "begin_watching",
    "check_first_write",
    "commit_failure",
    "committed_writes",
    "database_name",
    "end_watching",
    "failures_recorded",
    "forget_unwatched",
    "keys_own_statements",
    "keys_statement",
    "mark_applied",
    "note_commit",
    "note_commit_failed",
    "note_commit_sent",
    "note_failure",
    "note_statement",
    "nothing_sent",
    "rolled_back_on",
    "watching_writes",
    "writes",
]


@dataclass(slots=True)
class RequestWrites:
    """What one request has committed so far."""

    #: Transactions that wrote and committed.
    committed: int = 0
    #: The same, by database (`database_name`).
    databases: dict[str, int] = field(default_factory=dict)
    #: COMMITs of transactions that wrote which raised (their outcome is the lost
    #: connection's to tell): taken back from `committed`, and counted here.
    failed_commits: int = 0
    #: Set by an idempotency middleware: the request has a key, and its policy records
    #: every server error (`store_server_errors`), commit seen or not.
    records_failures: bool = False
    #: The request's watch is over (its answer decided): a mark now changes nothing.
    closed: bool = False
    #: Statements sent that may write (`read_only` cannot prove otherwise), any database.
    sent: int = 0
    #: Errors the hooks saw a statement or COMMIT of the request raise, before it had sent
    #: anything that may write (`nothing_sent`), each with the driver's connection it was
    #: raised on (None: not told).
    failed_unsent: list[tuple[BaseException, object]] = field(default_factory=list)
    #: Writes sent inside a PostgreSQL transaction block whose COMMIT was not sent, by
    #: connection (`id()` of the driver's: the connection, kept alive, and how many).
    pending: dict[int, tuple[object, int]] = field(default_factory=dict)
    #: Errors the hooks saw a COMMIT of a write raise, each with whether its transaction
    #: was then certainly rolled back (`note_commit_failed`).
    commit_errors: list[tuple[BaseException, bool]] = field(default_factory=list)

    def commit_sent(self, connection: int) -> None:
        """The transaction block of `connection` may have committed: its writes are sent."""
        if self.pending.pop(connection, None) is not None:
            self.sent = 1

    def add(self, database: str, count: int = 1) -> None:
        """Count `count` commits of transactions that wrote to `database` (-1: one taken back)."""
        self.committed += count
        self.databases[database] = self.databases.get(database, 0) + count


log = logging.getLogger("httpconflict")

_CURRENT: Final[ContextVar[RequestWrites | None]] = ContextVar(
    "httpconflict_request_writes", default=None
)


@dataclass(slots=True)
class _Unwatched:
    """A statement that may write was sent while no request was watched; not yet taken."""

    sent: bool = True


#: The last such mark set in this context. Tasks and threads started from it hold the same
#: object: taken (`sent` False) in one, it is taken in all.
_SENT_UNWATCHED: Final[ContextVar[_Unwatched | None]] = ContextVar(
    "httpconflict_sent_unwatched", default=None
)


def forget_unwatched() -> None:
    """A request ended here, or a server starts: the writes sent unwatched so far are no request's.

    An adapter's call: the WSGI key middleware as each request leaves it
    (the thread serves the next), Django's hooks as each request starts
    (``request_started``), the ASGI middlewares at the lifespan's start
    (the app's import and factory ran in the context every request's task
    copies).
    """
    mark = _SENT_UNWATCHED.get()
    if mark is not None:
        mark.sent = False
        _SENT_UNWATCHED.set(None)


def _new_record() -> RequestWrites:
    """A request's record; it starts as one that wrote if its context sent a write unwatched."""
    hook_loaded_orms()
    record = RequestWrites()
    mark = _SENT_UNWATCHED.get()
    if mark is not None and mark.sent:
        record.sent = 1
    forget_unwatched()
    return record


@contextmanager
def watching_writes() -> Iterator[RequestWrites]:
    """Watch the writes of the request running in this block (one already watched: its record).

    Nested adapters (a framework's ``install`` inside an idempotency
    middleware) share the outer record, so each sees every commit.
    """
    current = _CURRENT.get()
    if current is not None:
        yield current
        return
    record = _new_record()
    token = _CURRENT.set(record)
    try:
        yield record
    finally:
        record.closed = True
        _CURRENT.reset(token)


def begin_watching() -> Token[RequestWrites | None] | None:
    """`watching_writes` for a framework whose request has no block to wrap (Flask's hooks).

    Pass what it returns to `end_watching` when the request ends.
    """
    if _CURRENT.get() is not None:
        return None
    return _CURRENT.set(_new_record())


def end_watching(token: Token[RequestWrites | None] | None) -> None:
    """The end of the request `begin_watching` began to watch."""
    if token is not None:
        record = _CURRENT.get()
        if record is not None:
            record.closed = True
        _CURRENT.reset(token)


def current_writes() -> RequestWrites | None:
    """The record of the request running here, or None outside a watched request."""
    return _CURRENT.get()


def note_commit(database: str) -> None:
    """A transaction that wrote to `database` has committed (a database hook's call)."""
    record = _CURRENT.get()
    if record is not None:
        record.add(database)


#: Set while a key store runs its own statements (`keys_own_statements`).
_KEY_STORE: Final[ContextVar[bool]] = ContextVar("httpconflict_key_store", default=False)


@contextmanager
def keys_own_statements() -> Iterator[None]:
    """Statements run in this block are a key store's (a claim, a record), not the request's.

    A store on the app's own engine runs them in the request's task, before
    and during its watch: the hooks neither count them as writes the
    request sent (`note_statement`) or committed, nor their errors as its.
    """
    token = _KEY_STORE.set(True)
    try:
        yield
    finally:
        _KEY_STORE.reset(token)


def keys_statement() -> bool:
    """Whether the statement being run is a key store's own (`keys_own_statements`)."""
    return _KEY_STORE.get()


def note_statement(
    statement: str, connection: object = None, *, vendor: str = "", autocommit: bool | None = None
) -> None:
    """A statement is about to be sent (a database hook's call): count it if it may write.

    `connection`: the driver's connection it goes on; `vendor`: its
    database's (``postgresql``); `autocommit`: whether the driver commits
    each statement, when the connection cannot tell (SQLAlchemy's asyncpg
    adapter). With them, a write to PostgreSQL inside a transaction block
    is pending on that connection until the block's COMMIT is sent.
    """
    if _KEY_STORE.get():
        return
    record = _CURRENT.get()
    if record is None:
        if not read_only(statement):
            # A mark of its own: one this context copied may be taken by another's watch.
            _SENT_UNWATCHED.set(_Unwatched())
        return
    if record.sent:
        return
    state = TransactionState.UNKNOWN
    if connection is not None and vendor == "postgresql":
        state = transaction_state(connection, autocommit)
    key = id(connection)
    if key in record.pending and (
        ends_transaction(statement) or state is not TransactionState.IN_TRANSACTION
    ):
        record.commit_sent(key)  # its COMMIT as text, or one no hook saw
        return
    if read_only(statement):
        return
    if held_until_commit(statement) and state in (
        TransactionState.IN_TRANSACTION,
        TransactionState.WILL_BEGIN,
    ):
        held = record.pending.get(key, (connection, 0))[1]
        record.pending[key] = (connection, held + 1)
    else:
        record.sent = 1


def note_commit_sent(connection: object) -> None:
    """The COMMIT of `connection`'s transaction block is about to be sent (a hook's call).

    None: a connection the hook cannot name; every pending write counts as sent.
    """
    record = _CURRENT.get()
    if record is None or _KEY_STORE.get():
        return
    for key in [id(connection)] if connection is not None else list(record.pending):
        record.commit_sent(key)


def note_failure(error: BaseException, connection: object = None) -> None:
    """A statement (or COMMIT, ROLLBACK) the hooks watched raised `error` (a hook's call).

    `connection`: the driver's connection the statement was sent on, when the hook knows.
    """
    record = _CURRENT.get()
    if record is not None and record.sent == 0 and record.committed == 0 and not _KEY_STORE.get():
        record.failed_unsent.append((error, connection))


def note_commit_failed(error: BaseException, *, undone: bool) -> None:
    """A COMMIT of a transaction that wrote raised `error` (a hook's call).

    `undone`: the COMMIT certainly committed nothing, and a ROLLBACK ended
    its transaction before the error reached the app (SQLite's busy COMMIT
    leaves it open; SQLAlchemy's hooks then send the ROLLBACK, Django's
    ``atomic`` does). Else it may be committed yet. `_outage` decides what
    either is to the client (`commit_failure`).
    """
    record = _CURRENT.get()
    if record is not None and not _KEY_STORE.get():
        record.commit_errors.append((error, undone))


def commit_failure(error: BaseException) -> bool | None:
    """Whether the COMMIT `error` is (or was raised from) was undone; None: no hook saw one."""
    record = _CURRENT.get()
    if record is None:
        return None
    found = _raised_from(error, [failed for failed, _ in record.commit_errors])
    return next((undone for failed, undone in record.commit_errors if failed is found), None)


def _raised_from(error: BaseException, errors: list[BaseException]) -> BaseException | None:
    """The one of `errors` that `error` is, or was raised from (None: none)."""
    current: BaseException | None = error
    for _ in range(16):
        if current is None:
            return None
        if any(current is seen for seen in errors):
            return current
        current = current.__cause__ or current.__context__
    return None


def _seen(record: RequestWrites, error: BaseException) -> tuple[BaseException, object] | None:
    """The failure the hooks saw that `error` is, or was raised from (None: no hook saw it)."""
    found = _raised_from(error, [failure[0] for failure in record.failed_unsent])
    return next((failure for failure in record.failed_unsent if failure[0] is found), None)


def nothing_sent(error: BaseException) -> bool:
    """Whether the request running here failed with `error` before sending anything that writes.

    True only when the database hooks saw `error` (or an error it was
    raised from) raised by a statement of the request's, and the request
    has sent no statement that may write (none pending either), committed
    nothing and been marked by nothing (`mark_applied`): a connection lost
    then applied nothing. An error no hook saw (a driver used directly) is
    in doubt.
    """
    record = _CURRENT.get()
    if record is None or record.sent or record.committed or record.pending:
        return False
    return _seen(record, error) is not None


def rolled_back_on(error: BaseException) -> BaseException | None:
    """The statement's error that `error` is (or was raised from), if it may have rolled all back.

    That is: the hooks saw it raised by a statement on the one connection
    that every write of the request is pending on (in a PostgreSQL
    transaction block whose COMMIT was not sent), and the request sent no
    other write, committed nothing and was marked by nothing. If that
    error ended the connection's session (the caller, `_outage`, tells),
    the server rolled the block back: nothing was applied. Else None.
    """
    record = _CURRENT.get()
    if record is None or record.sent or record.committed or len(record.pending) != 1:
        return None
    failure = _seen(record, error)
    if failure is None or failure[1] is None:
        return None
    ((held, _),) = record.pending.values()
    return failure[0] if held is failure[1] else None


#: The database `mark_applied` counts a commit under: none that a key's transaction is in.
APPLIED_ELSEWHERE: Final = "(marked by the app)"


def mark_applied() -> None:
    """Say that the request running here has applied something a second run would repeat.

    For what the database hooks cannot see: a commit through a driver used
    directly (psycopg, asyncpg, a DB-API connection of the app's own), a
    call to a payment provider, a message published. Once marked, the
    request counts as one that wrote: a raise or a 5xx after it is
    recorded under its Idempotency-Key and replayed (never released for a
    resend to run it again), and a database outage after it answers 504
    ``outcome-unknown``, not 503. Call it from the request's own task or
    thread (a sync view's thread counts; a thread pool of the app's own
    does not carry the request's context). Outside a watched request, or once
    its answer is decided (a task that outlived it), it changes nothing, and
    logs a warning saying so: that request's key may already be released.
    """
    record = _CURRENT.get()
    if record is None or record.closed:
        log.warning(
            "mark_applied() %s: nothing is marked. Call it in the request's own task or "
            "thread, before the request ends",
            "outside any request httpconflict watches (a thread of the app's own?)"
            if record is None
            else "after its request ended (a task that outlived it?)",
            stack_info=True,
        )
        return
    record.add(APPLIED_ELSEWHERE)


def failures_recorded() -> bool:
    """Whether the request running here is keyed under a policy that records every 5xx."""
    record = _CURRENT.get()
    return record is not None and record.records_failures


def committed_writes() -> bool:
    """Whether the request running here has committed a transaction that wrote."""
    record = _CURRENT.get()
    return record is not None and record.committed > 0


#: Vendors as SQLAlchemy's dialects and Django's backends name them, by one name.
_VENDORS: Final = {"mariadb": "mysql", "microsoft": "mssql"}
#: The port a vendor's client takes when none is given.
_DEFAULT_PORTS: Final = {"postgresql": "5432", "mysql": "3306", "mssql": "1433", "oracle": "1521"}


def database_name(vendor: str, host: str | None, port: object, name: str | None) -> str:
    """One database, as the hooks of every framework name it, whatever names reach it.

    ``mariadb`` is ``mysql``; a missing port is the vendor's default; this
    machine is ``localhost`` by any name (``127.0.0.1``, ``::1``, no host,
    or a Unix socket's folder); an SQLite file is its absolute path. Names
    that differ otherwise are taken for different databases: a host name is
    not resolved, so a database reached by two of its names counts as two.
    """
    vendor = _VENDORS.get(vendor, vendor)
    if vendor == "sqlite":
        return f"sqlite:///{_sqlite_file(name or '')}"
    where = (host or "").strip().lower().removesuffix(".")
    if not where or where.startswith("/") or is_loopback(where):
        where = "localhost"
    return f"{vendor}://{where}:{port or _DEFAULT_PORTS.get(vendor, '')}/{name or ''}"


def _sqlite_file(name: str) -> str:
    """An SQLite database's file as one path (memory and ``file:`` URIs as given)."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return name
    return os.path.realpath(name)


def check_first_write(database: str) -> None:
    """Refuse to record a transactional key's answer in `database` after a write committed there.

    The docs' rule: the answer goes in the transaction of the request's
    first write. Raises `IdempotencyKeyRecordedLate` (500) when the
    request running here already committed a transaction that wrote to
    `database`; let it through, so the recording transaction rolls back
    (the middleware records the refusal: something was applied).
    """
    record = _CURRENT.get()
    if record is None or record.databases.get(database, 0) <= 0:
        return
    raise IdempotencyKeyRecordedLate(
        "this request committed a write to the database before recording its "
        "Idempotency-Key's answer in another transaction: a crash between the two, or "
        "a retry, applies that write again. Record the answer in the transaction of "
        "the request's first write (record_answer before that commit)"
    )


# A statement's first keyword, past comments and parentheses. What starts
# with one of these changes no data; anything else (INSERT, UPDATE, DELETE,
# MERGE, WITH, which may hold a data-modifying CTE, DDL, a CALL) may.
_LEADING: Final = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
_READS: Final = frozenset(
    {
        *("select", "show", "explain", "set", "reset", "values", "table", "describe", "desc"),
        *("begin", "start", "commit", "rollback", "savepoint", "release", "end", "pragma"),
    }
)
_WORD: Final = re.compile(r"[A-Za-z]+")


def writes(statement: str) -> bool:
    """Whether a SQL statement may change data (not a read, nor transaction control)."""
    start = _LEADING.match(statement)
    word = _WORD.match(statement, start.end() if start else 0)
    return word is None or word.group().lower() not in _READS
