"""`record_answer`: a keyed request's answer recorded in the view's own ``transaction.atomic()``.

Under a transactional `IdempotencyPolicy` the middleware claims nothing;
the view records its answer in the transaction of its write, so a worker
killed at any moment leaves both or neither. One statement, ``INSERT ...
ON CONFLICT (principal, key) DO UPDATE ... WHERE expires_at <= now
RETURNING`` (SQLite and PostgreSQL), takes over an expired key and leaves
a live one alone: no row back means another request recorded first (on
PostgreSQL, once its transaction has ended), and the view's write rolls
back with `IdempotencyKeyTaken`. MySQL and MariaDB have neither ON
CONFLICT nor RETURNING: there the statement is ``INSERT ... ON DUPLICATE
KEY UPDATE col = CASE WHEN expires_at <= now THEN VALUES(col) ELSE col
END`` (the expiry assigned last, as MySQL assigns left to right), which
waits for a transaction that inserted the key, then locks the row; a
locking read of its token (``SELECT ... FOR UPDATE``, past the
transaction's REPEATABLE READ snapshot) tells whether the row is this
request's. The claim counts as completed only once the transaction
commits (`transaction.on_commit`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from functools import partial

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import TransactionManagementError

from .._errors import IdempotencyKeyTaken
from .._idempotency import Completion
from .._idempotency_request import KeyedRequest
from .._request_writes import check_first_write
from ..storage.idempotency._rows import RECORD, record_args
from ._commits import database_of

__all__ = ["record_answer"]

_VENDORS = ("sqlite", "postgresql", "mysql")

#: MySQL and MariaDB: the record, taking over an expired key (each column
#: assigned when the old expiry has passed; the expiry last, since MySQL
#: assigns left to right and each condition reads it). ``now`` is given once
#: per assignment (`_TAKEN_OVER`).
_RECORD_MYSQL = """
    INSERT INTO idempotency_keys
        (principal, `key`, fingerprint, token, state, expires_at, status, headers, body)
    VALUES (%s, %s, %s, %s, 'completed', %s, %s, %s, %s)
    ON DUPLICATE KEY UPDATE
        fingerprint = CASE WHEN expires_at <= %s THEN VALUES(fingerprint) ELSE fingerprint END,
        token = CASE WHEN expires_at <= %s THEN VALUES(token) ELSE token END,
        state = CASE WHEN expires_at <= %s THEN VALUES(state) ELSE state END,
        status = CASE WHEN expires_at <= %s THEN VALUES(status) ELSE status END,
        headers = CASE WHEN expires_at <= %s THEN VALUES(headers) ELSE headers END,
        body = CASE WHEN expires_at <= %s THEN VALUES(body) ELSE body END,
        expires_at = CASE WHEN expires_at <= %s THEN VALUES(expires_at) ELSE expires_at END
"""
_TAKEN_OVER = 7
#: The key's holder, read under the row's lock (its latest version, not the snapshot).
_HOLDER_MYSQL = "SELECT token FROM idempotency_keys WHERE principal = %s AND `key` = %s FOR UPDATE"


def record_answer(
    claim: KeyedRequest | None,
    status: int,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Record the answer a keyed request is about to get, in the open ``transaction.atomic()``.

    `claim` is the request's (``active_claim(request.scope)`` under ASGI,
    ``active_claim(request.environ)`` under WSGI); without a key, or under a
    policy that is not transactional, nothing is recorded. `status`,
    `headers` and `body` must be the answer the view then returns: a retry
    is replayed them (the headers the policy allows). Raises
    `IdempotencyKeyTaken` (409) when another request recorded under the key
    first: let it through, so the atomic block rolls back, and the
    middleware answers with that request's answer. Call it in the atomic
    block of the request's first write: after a write committed to this
    database, it raises `IdempotencyKeyRecordedLate` (500) and records
    nothing. The table is ``idempotency_keys`` (a model of
    `httpconflict.django.models.AbstractIdempotencyKey`).
    """
    if claim is None or not claim.key or not claim.policy.transactional:
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        raise TransactionManagementError(
            "record_answer records in the transaction of the write: call it in transaction.atomic()"
        )
    if connection.vendor not in _VENDORS:
        raise NotImplementedError(
            "Idempotency-Keys in Django support PostgreSQL, SQLite, MySQL and MariaDB,"
            f" not {connection.vendor}"
        )
    check_first_write(database_of(connection))
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    completion = claim.completion(status, pairs, body)
    if not _recorded(connection, completion):
        claim.taken = True
        raise IdempotencyKeyTaken(
            "another request with this Idempotency-Key recorded its answer first"
        )
    transaction.on_commit(partial(_completed, claim), using=using)


def _recorded(connection: BaseDatabaseWrapper, completion: Completion) -> bool:
    """Insert `completion` where the key holds no live record: whether it is there now."""
    with connection.cursor() as cursor:
        if connection.vendor != "mysql":
            cursor.execute(RECORD, record_args(completion))
            return cursor.fetchone() is not None
        # An answer holds no claim; here its token tells the row read back as this one.
        token = secrets.token_hex(16)
        principal, key, fingerprint, *answer, now = record_args(completion)
        cursor.execute(
            _RECORD_MYSQL,
            (principal, key, fingerprint, token, *answer, *[now] * _TAKEN_OVER),
        )
        cursor.execute(_HOLDER_MYSQL, (principal, key))
        row = cursor.fetchone()
    return row is not None and row[0] == token


def _completed(claim: KeyedRequest) -> None:
    # Committed with the write: the middleware has nothing left to record.
    claim.completed = True
