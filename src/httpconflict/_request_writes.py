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

The record lives in a context variable, so the request's threads (a sync
view run in a thread pool copies the context) and tasks mark the same one;
a hook that finds none (a write outside any request, a worker of the
app's own) marks nothing. A transaction that wrote is one that ran a
statement other than a read (`writes`): ``SELECT``, ``SHOW``, ``EXPLAIN``,
``SET`` and transaction control do not count; anything else does, when in
doubt too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Final

__all__ = [
    "RequestWrites",
    "begin_watching",
    "committed_writes",
    "end_watching",
    "note_commit",
    "watching_writes",
    "writes",
]


@dataclass(slots=True)
class RequestWrites:
    """What one request has committed so far."""

    #: Transactions that wrote and committed.
    committed: int = 0


_CURRENT: Final[ContextVar[RequestWrites | None]] = ContextVar(
    "httpconflict_request_writes", default=None
)


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
    record = RequestWrites()
    token = _CURRENT.set(record)
    try:
        yield record
    finally:
        _CURRENT.reset(token)


def begin_watching() -> Token[RequestWrites | None] | None:
    """`watching_writes` for a framework whose request has no block to wrap (Flask's hooks).

    Pass what it returns to `end_watching` when the request ends.
    """
    if _CURRENT.get() is not None:
        return None
    return _CURRENT.set(RequestWrites())


def end_watching(token: Token[RequestWrites | None] | None) -> None:
    """The end of the request `begin_watching` began to watch."""
    if token is not None:
        _CURRENT.reset(token)


def current_writes() -> RequestWrites | None:
    """The record of the request running here, or None outside a watched request."""
    return _CURRENT.get()


def note_commit() -> None:
    """A transaction that wrote has committed (a database hook's call)."""
    record = _CURRENT.get()
    if record is not None:
        record.committed += 1


def committed_writes() -> bool:
    """Whether the request running here has committed a transaction that wrote."""
    record = _CURRENT.get()
    return record is not None and record.committed > 0


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
