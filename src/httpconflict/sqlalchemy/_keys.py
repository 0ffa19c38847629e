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
the middleware answers with the record. MySQL and MariaDB have neither ON
CONFLICT nor RETURNING: there the statement is ``INSERT ... ON DUPLICATE
KEY UPDATE col = CASE WHEN expires_at <= now THEN VALUES(col) ELSE col
END`` (the expiry assigned last, as MySQL assigns left to right), which
waits for a transaction that inserted the key, then locks the row; a
locking read (``SELECT token ... FOR UPDATE``, past the transaction's
REPEATABLE READ snapshot) tells whether the row is this request's by its
token. The affected-rows count cannot tell: SQLAlchemy's MySQL drivers
connect with CLIENT_FOUND_ROWS, which counts a row left alone as 1, as an
inserted one. The claim is marked `completed`
only once the session commits (an ``after_commit`` event): an answer whose
transaction failed is the middleware's to record, or not.

The table has the columns, and the meaning, of the SQLite and PostgreSQL
stores' ``idempotency_keys``; `idempotency_keys_table` adds it to the
app's metadata, for ``create_all`` or Alembic. On MySQL and MariaDB the
principal and the key are VARBINARY (their default collations compare
case-insensitively and pad trailing spaces: "Alice" would be "alice"), the
headers LONGTEXT and the body LONGBLOB (TEXT and BLOB hold 64 KiB).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import (
    Column,
    Connection,
    Dialect,
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
    case,
    event,
    func,
    select,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from .._errors import IdempotencyKeyTaken
from .._idempotency import MAX_KEY_LENGTH, Completion
from .._idempotency_request import KeyedRequest
from .._request_writes import check_first_write
from ..storage.idempotency._rows import COMPLETED, encode_headers, stored_body
from ._commits import database_of

__all__ = [
    "KEYS",
    "MYSQL",
    "TABLE_NAME",
    "arecord_answer",
    "idempotency_keys_table",
    "inserted",
    "record_answer",
    "recorded",
]

TABLE_NAME: Final = "idempotency_keys"
#: Where a session keeps the claims it recorded, until its transaction ends.
_PENDING: Final = "httpconflict.idempotency.recorded"
#: SQLAlchemy's names of the MySQL and MariaDB dialects.
MYSQL: Final = ("mysql", "mariadb")


class _ExactName(mysql.VARBINARY):
    """A principal or a key on MySQL: the bytes of its UTF-8, compared exactly.

    The parameter goes as the string it is (the server converts it), and
    comes back as one.
    """

    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        return lambda value: value if value is None else bytes(value).decode()


class _HexBody(mysql.LONGBLOB):
    """A body on MySQL, sent as hexadecimal and turned back into bytes by the server.

    aiomysql 0.3.2 fails on any bytes parameter with PyMySQL >= 1.2.3
    ("'str' object is not callable", aio-libs/aiomysql#1080); a string
    parameter every driver sends.
    """

    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> Any:
        return func.unhex(bindvalue, type_=self)

    def bind_processor(self, dialect: Dialect) -> Any:
        return lambda value: value if value is None else bytes(value).hex()


# MAX_KEY_LENGTH characters of up to 4 bytes each, on MySQL.
_NAME: Final = String(MAX_KEY_LENGTH).with_variant(_ExactName(4 * MAX_KEY_LENGTH), *MYSQL)
_HEADERS: Final = Text().with_variant(mysql.LONGTEXT(), *MYSQL)
_BODY: Final = LargeBinary().with_variant(_HexBody(), *MYSQL)


def idempotency_keys_table(metadata: MetaData) -> Table:
    """The ``idempotency_keys`` table, added to `metadata` (your migrations create it).

    The same columns as the SQLite and PostgreSQL key stores' table, so
    either may share it.
    """
    return Table(
        TABLE_NAME,
        metadata,
        Column("principal", _NAME, primary_key=True),
        Column("key", _NAME, primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("token", String(64), nullable=False),  # who holds the claim
        Column("state", String(16), nullable=False),  # 'in-flight' or 'completed'
        # The end of the lease, or of the retention (seconds since the epoch).
        Column("expires_at", Double, nullable=False),
        Column("status", Integer),
        Column("headers", _HEADERS),
        Column("body", _BODY),
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
    """The INSERT that takes over an expired key and leaves a live one alone, per dialect.

    PostgreSQL and SQLite: ``INSERT ... ON CONFLICT DO UPDATE ... WHERE
    expires_at <= :now RETURNING`` (a row back: this one is in). MySQL and
    MariaDB: ``INSERT ... ON DUPLICATE KEY UPDATE`` (`inserted` reads the
    row back). `state` IN_FLIGHT: a claim (no answer yet); COMPLETED: a
    recorded answer. The parameters are named as the columns, plus ``now``
    (and for a claim ``held_until``: until then an expired claim in flight
    is left alone).
    """
    columns = ["principal", "key", "fingerprint", "token", "expires_at"]
    if state == COMPLETED:
        columns += ["status", "headers", "body"]
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    values["state"] = state
    free = KEYS.c.expires_at <= bindparam("now")
    if state != COMPLETED:
        # A claim takes over an expired claim in flight only once the
        # server has run for a lease (``held_until``: `_key_store.held_until`).
        held_until: Any = bindparam("held_until", type_=Double())
        free &= (KEYS.c.state == COMPLETED) | (held_until <= bindparam("now", type_=Double()))
    if dialect in MYSQL:
        upsert = mysql.insert(KEYS).values(values)
        # MySQL assigns left to right, each assignment seeing those before
        # it: the expiry, which the condition reads, goes last.
        last = sorted(_TAKEN_OVER, key=lambda name: name == "expires_at")
        ordered = [(name, case((free, upsert.inserted[name]), else_=KEYS.c[name])) for name in last]
        mysql_built: Insert = upsert.on_duplicate_key_update(ordered)
        return mysql_built
    insert = _UPSERTS.get(dialect)
    if insert is None:
        raise NotImplementedError(
            "idempotency keys in SQLAlchemy support PostgreSQL, SQLite, MySQL and MariaDB,"
            f" not {dialect}"
        )
    statement = insert(KEYS).values(values)
    taken_over = {name: statement.excluded[name] for name in _TAKEN_OVER}
    built: Insert = statement.on_conflict_do_update(
        index_elements=[KEYS.c.principal, KEYS.c.key],
        set_=taken_over,
        where=free,
    ).returning(KEYS.c.state)
    return built


#: The key's holder, read under the row's lock (MySQL).
_HOLDER: Final = (
    select(KEYS.c.token)
    .where((KEYS.c.principal == bindparam("principal")) & (KEYS.c.key == bindparam("key")))
    .with_for_update()
)


def inserted(connection: Connection, state: str, parameters: Mapping[str, Any]) -> bool:
    """Put the key's row in where it holds nothing live: whether this one is there now."""
    dialect = connection.dialect.name
    statement = insert_for(dialect, state)
    if dialect not in MYSQL:
        return connection.execute(statement, parameters).first() is not None
    connection.execute(statement, parameters)
    # The row is locked now; a locking read sees its latest version, not
    # the transaction's snapshot. The token tells whose it is.
    holder: str | None = connection.execute(_HOLDER, parameters).scalar_one_or_none()
    return holder is not None and holder == str(parameters["token"])


def recorded(connection: Connection, completion: Completion) -> bool:
    """Insert `completion` in `connection`'s transaction: False if the key holds a live record."""
    response = completion.response
    mysql_dialect = connection.dialect.name in MYSQL
    parameters = {
        "principal": completion.principal,
        "key": completion.key,
        "fingerprint": completion.fingerprint,
        # An answer holds no claim (""); on MySQL its token tells the row read back as this one.
        "token": secrets.token_hex(16) if mysql_dialect else "",
        "expires_at": completion.expires_at,
        "status": response.status,
        "headers": encode_headers(response.headers),
        "body": stored_body(response),
        "now": completion.now,
    }
    return inserted(connection, COMPLETED, parameters)


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
    that request's answer. Call it in the transaction of the request's
    first write: after a write committed to this database, it raises
    `IdempotencyKeyRecordedLate` (500) and records nothing.
    """
    if claim is None or not claim.key or not claim.policy.transactional:
        return
    connection = session.connection()
    check_first_write(database_of(connection))
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    completion = claim.completion(status, pairs, bytes(body))
    if not recorded(connection, completion):
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
