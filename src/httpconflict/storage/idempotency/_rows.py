"""Rows of the SQL idempotency-key tables, to and from records."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from ..._idempotency import Record, State, StoredResponse

if TYPE_CHECKING:
    from ..._idempotency import Completion

IN_FLIGHT: Final = State.IN_FLIGHT.value
COMPLETED: Final = State.COMPLETED.value
# Columns read back into a Record, in this order.
#: Seconds after a database server started during which `purge` leaves expired
#: claims in flight: one that the restart keeps for a lease more (the PostgreSQL
#: and SQLAlchemy stores' claims) must not be deleted meanwhile (leases are far
#: shorter than this).
HELD_CLAIMS_KEPT: Final = 3600.0
RECORD_COLUMNS: Final = "fingerprint, state, status, headers, body, expires_at"
#: The answer of a completed request, inserted where the key holds no live
#: record (in the transaction of its side effect): a row back when it was.
#: Parameters ``%s`` (psycopg's, and Django's on every database), `record_args`.
RECORD: Final = f"""
    INSERT INTO idempotency_keys
        (principal, key, fingerprint, token, state, expires_at, status, headers, body)
    VALUES (%s, %s, %s, '', '{COMPLETED}', %s, %s, %s, %s)
    ON CONFLICT (principal, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, token = '', state = '{COMPLETED}',
        expires_at = excluded.expires_at, status = excluded.status,
        headers = excluded.headers, body = excluded.body
    WHERE idempotency_keys.expires_at <= %s
    RETURNING 1
"""


def encode_headers(headers: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(headers, separators=(",", ":"))


def to_record(row: tuple[Any, ...]) -> Record:
    fingerprint, state, status, headers, body, expires_at = row
    response = None
    if state == COMPLETED:
        pairs = tuple((str(n), str(v)) for n, v in json.loads(headers))
        # A completed answer without a body echoes its request (NULL, not b"").
        echoes = body is None
        response = StoredResponse(int(status), pairs, b"" if echoes else bytes(body), echoes)
    return Record(fingerprint, State(state), response, float(expires_at))


def stored_body(response: StoredResponse) -> bytes | None:
    """The body column of a completed answer: NULL when it echoes its request."""
    return None if response.echoes else response.body


def complete_args(
    principal: str, key: str, token: str, response: StoredResponse, expires_at: float
) -> tuple[Any, ...]:
    """Parameters of the completion UPDATE: status, headers, body, expiry, then the WHERE."""
    return (
        response.status,
        encode_headers(response.headers),
        stored_body(response),
        expires_at,
        principal,
        key,
        token,
    )


def record_args(completion: Completion) -> tuple[Any, ...]:
    """Parameters of the transactional record INSERT (see the stores' `record`)."""
    response = completion.response
    return (
        completion.principal,
        completion.key,
        completion.fingerprint,
        completion.expires_at,
        response.status,
        encode_headers(response.headers),
        stored_body(response),
        completion.now,
    )
