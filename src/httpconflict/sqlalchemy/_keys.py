"""Idempotency keys in the app's own database: the table, and its answer recorded with the write.

Theory of operation: under a transactional `IdempotencyPolicy` the
middleware claims nothing; the app records its answer under the request's
key in the transaction of its side effect (`record_answer`), so a worker
killed at any moment leaves either both (a retry is replayed) or neither (a
retry runs once). The row goes in with one statement, ``INSERT ... ON
CONFLICT (principal, key) DO UPDATE ... WHERE expires_at <= now
RETURNING``: it takes over an expired key and leaves a live one alone, so
no row comes back when another request holds the key (on PostgreSQL the
statement first waits for that request's transaction to end). Then this
request lost: `IdempotencyKeyTaken`, the app's transaction rolls back, and
the middleware answers with the record. The claim is marked `completed`
only once the session commits (an ``after_commit`` event): an answer whose
transaction failed is the middleware's to record, or not.

The table has the columns, and the meaning, of the SQLite and PostgreSQL
stores' ``idempotency_keys``; `idempotency_keys_table` adds it to the
app's metadata, for ``create_all`` or Alembic.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import (
    Column,
    Connection,
    Double,
    Index,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from .._errors import IdempotencyKeyTaken
from .._idempotency import MAX_KEY_LENGTH, Completion
from .._idempotency_request import KeyedRequest
from ..storage.idempotency._rows import COMPLETED, encode_headers, stored_body

__all__ = [
    "KEYS",
    "TABLE_NAME",
    "arecord_answer",
    "idempotency_keys_table",
    "insert_for",
    "record_answer",
    "recorded",
]

TABLE_NAME: Final = "idempotency_keys"
#: Where a session keeps the claims it recorded, until its transaction ends.
_PENDING: Final = "httpconflict.idempotency.recorded"


def idempotency_keys_table(metadata: MetaData) -> Table:
    """The ``idempotency_keys`` table, added to `metadata` (your migrations create it).

    The same columns as the SQLite and PostgreSQL key stores' table, so
    either may share it.
    """
    return Table(
        TABLE_NAME,
        metadata,
        Column("principal", String(MAX_KEY_LENGTH), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("token", String(64), nullable=False),  # who holds the claim
        Column("state", String(16), nullable=False),  # 'in-flight' or 'completed'
        # The end of the lease, or of the retention (seconds since the epoch).
        Column("expires_at", Double, nullable=False),
        Column("status", Integer),
        Column("headers", Text),
        Column("body", LargeBinary),
        Index(f"{TABLE_NAME}_expiry", "expires_at"),
    )


#: The table as the helpers write it (an app's own copy is in its metadata).
KEYS: Final = idempotency_keys_table(MetaData())
#: What a claim or a record taking over an expired key writes over it (a
#: claim's answer columns are NULL).
_TAKEN_OVER: Final = ("fingerprint", "token", "state", "expires_at", "status", "headers", "body")
#: The dialects whose INSERT takes ON CONFLICT ... DO UPDATE ... WHERE.
_UPSERTS: Final[dict[str, Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@functools.cache
def insert_for(dialect: str, state: str) -> Insert:
    """``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <= :now RETURNING``, per dialect.

    `state` IN_FLIGHT: a claim (no answer yet); COMPLETED: a recorded answer.
    The parameters are named as the columns, plus ``now``.
    """
    insert = _UPSERTS.get(dialect)
    if insert is None:
        raise NotImplementedError(
            f"idempotency keys in SQLAlchemy support PostgreSQL and SQLite, not {dialect}"
        )
    columns = ["principal", "key", "fingerprint", "token", "expires_at"]
    if state == COMPLETED:
        columns += ["status", "headers", "body"]
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    values["state"] = state
    statement = insert(KEYS).values(values)
    taken_over = {name: statement.excluded[name] for name in _TAKEN_OVER}
    built: Insert = statement.on_conflict_do_update(
        index_elements=[KEYS.c.principal, KEYS.c.key],
        set_=taken_over,
        where=KEYS.c.expires_at <= bindparam("now"),
    ).returning(KEYS.c.state)
    return built


def recorded(connection: Connection, completion: Completion) -> bool:
    """Insert `completion` in `connection`'s transaction: False if the key holds a live record."""
    response = completion.response
    parameters = {
        "principal": completion.principal,
        "key": completion.key,
        "fingerprint": completion.fingerprint,
        "token": "",
        "expires_at": completion.expires_at,
        "status": response.status,
        "headers": encode_headers(response.headers),
        "body": stored_body(response),
        "now": completion.now,
    }
    statement = insert_for(connection.dialect.name, COMPLETED)
    return connection.execute(statement, parameters).first() is not None


def record_answer(
    session: Session,
    claim: KeyedRequest | None,
    status: int,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | memoryview,
) -> None:
    """Record the answer a keyed request is about to get, in `session`'s transaction.

    `claim` is the request's (`active_claim(scope)` under ASGI,
    `active_claim(environ)` under WSGI); without a key, or under a policy
    that is not transactional, nothing is recorded. `status`, `headers`
    and `body` must be the answer the app then sends: a retry is replayed
    them (the headers the policy allows). Raises `IdempotencyKeyTaken`
    (409) when another request recorded under the key first: let it
    through, so the transaction rolls back and the middleware answers with
    that request's answer.
    """
    if claim is None or not claim.key or not claim.policy.transactional:
        return
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    completion = claim.completion(status, pairs, bytes(body))
    if not recorded(session.connection(), completion):
        claim.taken = True
        raise IdempotencyKeyTaken(
            "another request with this Idempotency-Key recorded its answer first"
        )
    session.info.setdefault(_PENDING, []).append(claim)
    if not event.contains(session, "after_commit", _committed):
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_transaction_end", _ended)


async def arecord_answer(
    session: AsyncSession,
    claim: KeyedRequest | None,
    status: int,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | memoryview,
) -> None:
    """`record_answer` for an `AsyncSession`."""
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    await session.run_sync(record_answer, claim, status, pairs, body)


def _committed(session: Session) -> None:
    # The answers recorded in this transaction are committed with it: the
    # middleware has nothing left to record.
    for claim in session.info.get(_PENDING, ()):
        claim.completed = True


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
