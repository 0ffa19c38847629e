"""Django's own statements, which no execute wrapper sees: opening a connection, and COMMIT.

Theory of operation: the wrapper of `_commits` sees each statement a
request runs through a cursor, but Django sends two kinds past it: the
session settings of a connection it opens (``connect``: the time zone,
the role) and the COMMIT of a transaction (``_commit``). Neither is a
write of the request's: opening a connection applies nothing, and a COMMIT
commits what the wrapper saw go before it (nothing, for a transaction that
only read). So the error of one of them is told to the request's record
(`note_failure`) when the adapter answers it, as a statement's error is
when it is raised: a connection lost there, by a request that had sent
nothing that may write, is a 503 (`nothing_sent`), and its key is
released for the resend to run; a COMMIT after a write stays a 504 (its
COMMIT was sent: `note_commit_sent`).

The error's traceback tells where it was raised: in one of those methods
of a Django connection (`BaseDatabaseWrapper`), with nothing below it but
Django's, the driver's and the standard library's code. Code of anyone
else's run there (an app's ``connection_created`` receiver, a backend of
its own, another library's wrapper of the driver) may write, unseen: its
errors stay in doubt (a 504).
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any, Final

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import Atomic

from .._errors import Unavailable, WriteOutcomeUnknown
from .._integrity import _chain
from .._outage import outage_error
from .._request_writes import note_commit_failed, note_commit_sent, note_failure

#: The methods of a Django connection that send statements past its execute wrappers.
_METHODS: Final = frozenset({"connect", "_commit"})
#: The packages whose code runs there and writes nothing of the request's.
_OWN: Final = frozenset(
    {
        *("django", "httpconflict", "psycopg", "psycopg2", "psycopg_pool", "psycopg_c"),
        *("psycopg_binary", "MySQLdb", "pymysql", "oracledb", "cx_Oracle"),
        *sys.stdlib_module_names,
    }
)


def database_outage(
    error: BaseException, method: str, **decided_by: Any
) -> Unavailable | WriteOutcomeUnknown | None:
    """`outage_error` for an error a Django request raised, a statement of Django's own told."""
    note_own_statement_failure(error)
    return outage_error(error, method, **decided_by)


def note_own_statement_failure(error: BaseException) -> None:
    """Tell the hooks that `error` failed a statement of Django's own (its traceback says).

    An error raised in a connection's ``_commit`` (anyone's code below it)
    tells first that the COMMIT was sent (`note_commit_sent`): the writes
    its transaction held may have been applied; unless ``atomic`` rolled
    its transaction back as the COMMIT failed: `note_commit_failed` tells
    which, and the core decides what the COMMIT's error is to the client.
    """
    for raised in _chain(error):
        committing = _committing(raised)
        for connection in committing:
            note_commit_sent(connection.connection)
        if committing:
            note_commit_failed(raised, undone=_undone_by_atomic(raised, committing))
    for raised in _chain(error):
        if _raised_in_own_statement(raised):
            note_failure(raised)
            return


def _committing(error: BaseException) -> list[BaseDatabaseWrapper]:
    """The Django connections whose ``_commit`` `error` was raised in."""
    found = []
    trace = error.__traceback__
    while trace is not None:
        frame = trace.tb_frame
        wrapper = frame.f_locals.get("self") if frame.f_code.co_name == "_commit" else None
        if isinstance(wrapper, BaseDatabaseWrapper):
            found.append(wrapper)
        trace = trace.tb_next
    return found


def _undone_by_atomic(error: BaseException, committing: list[BaseDatabaseWrapper]) -> bool:
    """Whether `error` failed the COMMIT of ``atomic``'s exit, which then ended its transaction.

    ``Atomic.__exit__`` answers a COMMIT's `DatabaseError` with a ROLLBACK,
    or with closing the connection when that fails (which rolls back too),
    before it raises the error on. Called from anywhere else (the app's
    ``commit()``), the transaction may be committed later (sqlite3 commits
    an open one as Django turns autocommit back on): not told. The driver's
    connection is checked out of its transaction (or closed) all the same.
    """
    trace = error.__traceback__
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code.co_name == "__exit__" and isinstance(frame.f_locals.get("self"), Atomic):
            called = trace.tb_next
            while called is not None and _package(called.tb_frame) == "django":
                if isinstance(called.tb_frame.f_locals.get("self"), BaseDatabaseWrapper):
                    break  # (past ``async_unsafe``'s wrapper) the connection's own method
                called = called.tb_next
            if called is None or called.tb_frame.f_code.co_name != "commit":
                return False
            return all(
                c.connection is None or getattr(c.connection, "in_transaction", None) is False
                for c in committing
            )
        trace = trace.tb_next
    return False


def _raised_in_own_statement(error: BaseException) -> bool:
    """Whether `error` was raised while a Django connection opened or committed, by no one else."""
    found = False
    trace = error.__traceback__
    while trace is not None:
        frame = trace.tb_frame
        if found:
            if _package(frame) not in _OWN:
                return False
        elif frame.f_code.co_name in _METHODS:
            found = isinstance(frame.f_locals.get("self"), BaseDatabaseWrapper)
        trace = trace.tb_next
    return found


def _package(frame: FrameType) -> str:
    module = frame.f_globals.get("__name__")
    return module.partition(".")[0] if isinstance(module, str) else ""
