"""Writes a PostgreSQL session holds until their COMMIT: what a lost connection took back.

Theory of operation: PostgreSQL applies nothing of a transaction block
before its COMMIT, and rolls the block back when its session ends without
one (the server ended it, the connection broke). So a write sent inside a
transaction block, on a connection lost before that block's COMMIT was
sent, applied nothing (`_request_writes.rolled_back_on` keeps the count).
This module reads the two facts that rule needs from what the database
hooks hand over, and says no whenever it cannot tell:

- `transaction_state`: whether the driver's connection is inside a
  transaction block, or opens one with its next statement (autocommit
  off), read duck-typed as `_outage` reads errors: psycopg 3
  (``info.transaction_status``), psycopg2 (``get_transaction_status()``),
  asyncpg (``is_in_transaction()``, autocommit told by the hook). Any other
  driver, or a status in doubt (a statement still running), is UNKNOWN.
- `held_until_commit`: a plain ``INSERT``, ``UPDATE``, ``DELETE`` or
  ``MERGE`` (or a ``WITH`` of them), one statement, calling no function
  but the databases' own that change nothing (`_read_only_sql`): a
  function of the app's may write where no transaction holds it
  (``dblink_exec``), and ``nextval`` advances its sequence for good.
- `ends_transaction`: ``COMMIT``, ``END``, ``PREPARE TRANSACTION`` (which
  keeps the block past its session), and ``ROLLBACK`` or ``ABORT`` too,
  sent as text: the block's COMMIT was sent, in doubt. A savepoint's
  ``RELEASE`` or ``ROLLBACK TO`` leaves the block open.

Only PostgreSQL: a MySQL or MariaDB table may not be transactional
(MyISAM applies a write at once, inside a transaction block too), and an
SQLite file has no connection to lose.
"""

from __future__ import annotations

import enum
import re
from typing import Final

from ._read_only_sql import _CALL, _LEADING, _NOT_CALLS, _WORD

__all__ = ["TransactionState", "ends_transaction", "held_until_commit", "transaction_state"]


class TransactionState(enum.Enum):
    """Where a connection's next statement runs."""

    #: Inside a transaction block (begun, or failed and not yet rolled back).
    IN_TRANSACTION = "in-transaction"
    #: Outside one, and the driver begins one before the next statement (autocommit off).
    WILL_BEGIN = "will-begin"
    #: Outside one, each statement committing itself.
    AUTOCOMMIT = "autocommit"
    #: Not known: another driver, or a status in doubt.
    UNKNOWN = "unknown"


#: libpq's PGTransactionStatusType, as psycopg 3 and psycopg2 give it.
_IDLE, _IN_TRANSACTION, _IN_ERROR = 0, 2, 3


def transaction_state(connection: object, autocommit: bool | None = None) -> TransactionState:
    """Where `connection`'s next statement runs (`autocommit`: the hook's, else the driver's)."""
    try:
        status = _status(connection)
        if autocommit is None:
            found = getattr(connection, "autocommit", None)
            autocommit = found if isinstance(found, bool) else None
    except Exception:  # a closed or broken connection: in doubt
        return TransactionState.UNKNOWN
    if status in (_IN_TRANSACTION, _IN_ERROR):
        return TransactionState.IN_TRANSACTION
    if status != _IDLE or autocommit is None:
        return TransactionState.UNKNOWN
    return TransactionState.AUTOCOMMIT if autocommit else TransactionState.WILL_BEGIN


def _status(connection: object) -> int | None:
    package = type(connection).__module__.partition(".")[0]
    if package == "psycopg":
        return int(connection.info.transaction_status)  # type: ignore[attr-defined]
    if package == "psycopg2":
        return int(connection.get_transaction_status())  # type: ignore[attr-defined]
    if package == "asyncpg":
        return _IN_TRANSACTION if connection.is_in_transaction() else _IDLE  # type: ignore[attr-defined]
    return None


#: First words of the writes a transaction block holds until its COMMIT.
_HELD: Final = frozenset({"insert", "update", "delete", "merge", "with"})
#: ``INSERT INTO name (``: the column list's parenthesis, no call.
_INSERT_INTO: Final = re.compile(
    r"\s*insert\s+into\s+(?:\"[^\"]*\"|\w+)(?:\.(?:\"[^\"]*\"|\w+))*(?:\s+as\s+\w+)?\s*\(",
    re.IGNORECASE,
)
#: Words a parenthesis follows in a write: no call.
_WRITE_WORDS: Final = frozenset({"conflict", "update", "matched"})


def held_until_commit(statement: str) -> bool:
    """Whether `statement` is a plain write whose effects wait for its transaction's COMMIT."""
    if _first_word(statement) not in _HELD or ";" in statement.rstrip().rstrip(";"):
        return False
    start = _LEADING.match(statement)
    rest = statement[start.end() if start else 0 :]
    into = _INSERT_INTO.match(rest)
    if into is not None:
        rest = rest[into.end() :]
    return all(
        call.group(1).lower() in _NOT_CALLS or call.group(1).lower() in _WRITE_WORDS
        for call in _CALL.finditer(rest)
    )


#: ``ROLLBACK TO [SAVEPOINT]``: back to a savepoint, the block still open.
_TO_SAVEPOINT: Final = re.compile(r"\s*rollback\s+(?:work\s+|transaction\s+)?to\b", re.IGNORECASE)


def ends_transaction(statement: str) -> bool:
    """Whether `statement`, sent as text, ends its transaction block (or may: in doubt, yes)."""
    first = _first_word(statement)
    if first in ("commit", "end", "prepare", "abort"):
        return True
    if first == "rollback":
        start = _LEADING.match(statement)
        return _TO_SAVEPOINT.match(statement, start.end() if start else 0) is None
    return False


def _first_word(statement: str) -> str | None:
    start = _LEADING.match(statement)
    word = _WORD.match(statement, start.end() if start else 0)
    return word.group().lower() if word else None
