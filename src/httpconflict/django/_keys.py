"""`record_answer`: a keyed request's answer recorded in the view's own ``transaction.atomic()``.

Under a transactional `IdempotencyPolicy` the middleware claims nothing;
the view records its answer in the transaction of its write, so a worker
killed at any moment leaves both or neither. One statement, ``INSERT ...
ON CONFLICT (principal, key) DO UPDATE ... WHERE expires_at <= now
RETURNING`` (SQLite and PostgreSQL), takes over an expired key and leaves
a live one alone: no row back means another request recorded first (on
PostgreSQL, once its transaction has ended), and the view's write rolls
back with `IdempotencyKeyTaken`. The claim counts as completed only once
the transaction commits (`transaction.on_commit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.transaction import TransactionManagementError

from .._errors import IdempotencyKeyTaken
from .._idempotency_request import KeyedRequest
from ..storage.idempotency._rows import RECORD, record_args

__all__ = ["record_answer"]

_VENDORS = ("sqlite", "postgresql")


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
    middleware answers with that request's answer. The table is
    ``idempotency_keys`` (a model of `httpconflict.django.models.AbstractIdempotencyKey`).
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
            f"Idempotency-Keys in Django support PostgreSQL and SQLite, not {connection.vendor}"
        )
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    completion = claim.completion(status, pairs, body)
    with connection.cursor() as cursor:
        cursor.execute(RECORD, record_args(completion))
        if cursor.fetchone() is None:
            claim.taken = True
            raise IdempotencyKeyTaken(
                "another request with this Idempotency-Key recorded its answer first"
            )
    transaction.on_commit(partial(_completed, claim), using=using)


def _completed(claim: KeyedRequest) -> None:
    # Committed with the write: the middleware has nothing left to record.
    claim.completed = True
