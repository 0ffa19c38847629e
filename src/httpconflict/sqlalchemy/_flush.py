"""`flush_versioned`: SQLAlchemy's own ``version_id_col``, with If-Match and a 412.

The If-Match is checked against the version the row was loaded with, and
the ORM's flush (``UPDATE ... WHERE version = <loaded>``) re-checks it
atomically; its `StaleDataError` becomes a 412 naming the version now
stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.exc import StaleDataError

from .._etag import ETag
from .._preconditions import Conditions, Validators
from .._refusals import precondition_failed, refusal
from .._write import Guard, WriteResult, run_write, write_flow
from ._table import table_of, version_attribute, version_etag
from ._versioned import version_column


def etag_of(row: object, *, version_field: str | None = None, version: str | None = None) -> ETag:
    """The entity-tag of a loaded ORM object, from its version column.

    The column is `version_field`, else the mapper's ``version_id_col``,
    else ``"version"``. (`version` is the old name of `version_field`.)
    """
    mapper: Mapper[Any] = inspect(row).mapper
    attribute = version_attribute(mapper, version_column(version_field, version))
    return version_etag(getattr(row, attribute))


def flush_versioned(
    session: Session,
    row: object,
    conditions: Conditions,
    *,
    require_precondition: bool = True,
) -> ETag | None:
    """Flush the changes to (or the deletion of) `row`, a ``version_id_col`` object.

    The conditions are evaluated against the version `row` was loaded with;
    the flush writes only if that version is still stored. On a
    `StaleDataError` the session is rolled back and `PreconditionFailed`
    names the version now stored (`NotFound` if the row is gone). Returns
    the new entity-tag (None after a deletion).
    """
    state = inspect(row)
    mapper: Mapper[Any] = state.mapper
    if mapper.version_id_col is None:
        raise TypeError(f"{mapper.class_.__name__} has no version_id_col; use versioned_update")
    table = table_of(mapper.class_, None)
    deleting = row in session.deleted
    attribute = version_attribute(mapper, None)
    with session.no_autoflush:
        # Reading an expired attribute would otherwise flush the pending
        # changes first: an unchecked write.
        loaded = Validators(version_etag(getattr(row, attribute)))
    if state.identity is None:
        raise ValueError("the row is not in the database yet: there is no version to check")
    key = state.identity
    stale: Validators | None = None
    flushed = False

    def write(guard: Guard) -> WriteResult:
        nonlocal stale, flushed
        if flushed:
            # The flush failed and was rolled back with the changes it
            # carried: there is nothing left to write again.
            raise precondition_failed(stale)
        assert loaded.etag is not None
        if guard.etags is not None and loaded.etag.opaque not in guard.etags:
            return WriteResult(False, loaded)
        flushed = True
        try:
            session.flush()
        except StaleDataError:
            session.rollback()
            stale = table.current(session, key)
            return WriteResult(False, stale)
        if deleting:
            return WriteResult(True, None)
        return WriteResult(True, Validators(version_etag(getattr(row, attribute))))

    method = "DELETE" if deleting else "PUT"
    flow = write_flow(
        method, conditions, requested=None, require_precondition=require_precondition, creates=False
    )
    decision = run_write(flow, lambda: loaded, write)
    error = refusal(decision, conditions)
    if error is not None:
        raise error
    return None if decision.current is None else decision.current.etag


async def aflush_versioned(
    session: AsyncSession,
    row: object,
    conditions: Conditions,
    *,
    require_precondition: bool = True,
) -> ETag | None:
    """`flush_versioned` for an `AsyncSession`."""
    return await session.run_sync(
        flush_versioned, row, conditions, require_precondition=require_precondition
    )
