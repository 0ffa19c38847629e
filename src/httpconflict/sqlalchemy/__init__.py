"""SQLAlchemy: If-Match turned into ONE atomic ``UPDATE ... WHERE id = ? AND version = ?``.

    from httpconflict import Conditions
    from httpconflict.sqlalchemy import etag_of, versioned_delete, versioned_update

    conditions = Conditions.from_headers(request_headers)   # any framework's headers
    written = versioned_update(session, Note, note_id, {"title": "new"}, conditions)
    session.commit()                    # the helper never commits; you do
    response_headers["ETag"] = written.etag.to_header()   # written.row: the row as written

    versioned_delete(session, Note, note_id, conditions)
    etag_of(note)                       # the ETag of a loaded row, for GET

Each raises the error a server answers with: `PreconditionFailed` (412, with
``current_etag``) when the stored version is not one the If-Match names,
`PreconditionRequired` (428) when the row exists and the request names no
version, `NotFound` (404) when there is no row. Async: `aversioned_update`,
`aversioned_delete` take an `AsyncSession` (they run the same code through
``AsyncSession.run_sync``).

A JSON patch of a row (merge patch or JSON Patch), rebased when the client
asks with ``Prefer: rebase`` and the app keeps the versions it is made from:

    patched = versioned_patch(session, Note, note_id, patch, conditions,
                              document=note_json, history=note_at)

Tables with SQLAlchemy's own ``__mapper_args__ = {"version_id_col": ...}``:
load the row, change it, then `flush_versioned(session, row, conditions)`
(or `aflush_versioned`): the If-Match is checked against the loaded
version, and the ORM's flush (``UPDATE ... WHERE version = <loaded>``)
re-checks it atomically; its `StaleDataError` becomes a 412.

Idempotency-Keys exactly once, also across a killed worker: the key's
answer recorded in the transaction of the side effect, under a
transactional `IdempotencyPolicy`:

    idempotency_keys_table(Base.metadata)        # the table, in your migrations
    app = IdempotencyMiddleware(app, store=SQLAlchemyIdempotencyStore(engine),
                                policy=IdempotencyPolicy(transactional=True))

    session.add(order)
    session.flush()                              # the order's id, for the answer
    record_answer(session, active_claim(scope_or_environ), 201, headers, body)
    session.commit()                             # the order and its key, or neither

`record_answer` raises `IdempotencyKeyTaken` when another request recorded
under the key first: the transaction rolls back, and the middleware
answers with that request's answer (`arecord_answer` for an `AsyncSession`).

Theory of operation: the helpers are a store for the core's `write_flow`
(_versioned.py, _flush.py).
The flow turns the request's conditions into a `Guard` (the versions the row
may have); the helper puts the guard into the WHERE clause of the one
UPDATE or DELETE, and only when no row matched reads what is there, so the
flow can tell 404 from 412 from 428. A request without a precondition
reads first: a row that exists answers 428, and nothing is written. The
entity-tag of a row is its version as a strong tag (``"7"``); an If-Match
naming anything else matches nothing. `versioned_update` sets the version
to itself plus one in the same UPDATE (an integer column, also when it is
the mapper's ``version_id_col``) and returns the row it wrote, as a
`VersionedRow` (the shape Django's `versioned_update` returns too);
`flush_versioned` leaves the new version to the ORM. Each statement is
built once per shape and run with the request's values as parameters
(_table.py). Framework-free: this package imports SQLAlchemy and the core
only.
"""

try:
    import sqlalchemy  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from .._extras import missing_extra

    raise missing_extra(error, "sqlalchemy", __name__) from None


from ._commits import track_commits
from ._flush import aflush_versioned, etag_of, flush_versioned
from ._key_store import SQLAlchemyIdempotencyStore
from ._keys import arecord_answer, idempotency_keys_table, record_answer
from ._patch import aversioned_patch, versioned_patch
from ._table import version_etag
from ._versioned import aversioned_delete, aversioned_update, versioned_delete, versioned_update

# A request's commits, for its outage answers and its Idempotency-Key (`_commits`).
track_commits()

__all__ = [
    "SQLAlchemyIdempotencyStore",
    "aflush_versioned",
    "arecord_answer",
    "aversioned_delete",
    "aversioned_patch",
    "aversioned_update",
    "etag_of",
    "flush_versioned",
    "idempotency_keys_table",
    "record_answer",
    "version_etag",
    "versioned_delete",
    "versioned_patch",
    "versioned_update",
]
