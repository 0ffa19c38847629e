"""`versioned_update` and `versioned_delete`: the If-Match checked in ONE statement.

The core's `write_flow` turns the request's conditions into a `Guard` (the
versions the row may have); the helper puts the guard into the WHERE clause
of the one UPDATE or DELETE, and only when no row matched reads what is
there, so the flow can tell 404 from 412 from 428. The UPDATE returns the
row it wrote (``RETURNING``; on MySQL and MariaDB it is read back under the
UPDATE's lock), so the answer is never a later version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .._deprecation import warn_deprecated
from .._preconditions import Conditions, Validators
from .._refusals import refusal
from .._versioned_row import VersionedRow
from .._write import Guard, WriteResult, run_write, write_flow
from ._table import Model, table_of


def versioned_update(
    session: Session,
    model: Model,
    key: object,
    values: Mapping[str, Any],
    conditions: Conditions,
    *,
    version_field: str | None = None,
    require_precondition: bool = True,
    version: str | None = None,
) -> VersionedRow[Any]:
    """Set `values` on the row `key` if its version satisfies `conditions`; one UPDATE.

    Returns the row as written (the mapped object, or a `Row` for a
    `Table`) and its new entity-tag. The version column (`version_field`,
    default the mapper's ``version_id_col``, else ``"version"``) must be an
    integer; it is increased by one. `key` is the primary key value (a
    tuple for a composite key). Raises `PreconditionFailed` (a stale
    If-Match, whatever the row holds), `PreconditionRequired` or
    `NotFound`. A retry whose first answer was lost is told apart by its
    Idempotency-Key, not by the values it sends. (`version` is the old
    name of `version_field`.)
    """
    table = table_of(model, version_column(version_field, version))
    dialect = dialect_of(session, model)
    # A key past its columns' range names no row: 404, not the driver's error.
    exists = table.names_a_row(key, dialect)
    seen: list[object] = [None]  # the row as written

    def write(guard: Guard) -> WriteResult:
        versions = table.versions(guard, dialect)
        if versions != [] and exists:
            returning = returns_rows(session, model)
            statement, parameters = table.update(key, values, versions, returning=returning)
            result = session.execute(statement, parameters)
            if returning:
                seen[0] = table.returned(result)
            elif _rowcount(result):
                seen[0] = table.written_row(session, key)
            if seen[0] is not None:
                return WriteResult(True, Validators(table.etag_in(seen[0])))
        return WriteResult(False, read())

    def read() -> Validators | None:
        return table.current(session, key) if exists else None

    flow = write_flow(
        "PUT", conditions, requested=None, require_precondition=require_precondition, creates=False
    )
    decision = run_write(flow, read, write)
    error = refusal(decision, conditions)
    if error is not None:
        raise error
    assert decision.current is not None
    assert decision.current.etag is not None
    etag = decision.current.etag
    # Until the next release the answer also reads as the ETag it used to be.
    return VersionedRow(seen[0], etag, _legacy=etag)


def versioned_delete(
    session: Session,
    model: Model,
    key: object,
    conditions: Conditions,
    *,
    version_field: str | None = None,
    require_precondition: bool = True,
    version: str | None = None,
) -> None:
    """Delete the row `key` if its version satisfies `conditions`; one DELETE.

    Raises `PreconditionFailed`, `PreconditionRequired` or `NotFound`.
    """
    table = table_of(model, version_column(version_field, version))
    dialect = dialect_of(session, model)
    exists = table.names_a_row(key, dialect)  # a key past its columns' range: 404

    def write(guard: Guard) -> WriteResult:
        versions = table.versions(guard, dialect)
        if versions != [] and exists:
            statement, parameters = table.delete(key, versions)
            if _rowcount(session.execute(statement, parameters)):
                table.forget(session, key)
                return WriteResult(True, None)
        return WriteResult(False, read())

    def read() -> Validators | None:
        return table.current(session, key) if exists else None

    flow = write_flow(
        "DELETE", conditions, requested=None, require_precondition=require_precondition
    )
    error = refusal(run_write(flow, read, write), conditions)
    if error is not None:
        raise error


async def aversioned_update(
    session: AsyncSession,
    model: Model,
    key: object,
    values: Mapping[str, Any],
    conditions: Conditions,
    *,
    version_field: str | None = None,
    require_precondition: bool = True,
    version: str | None = None,
) -> VersionedRow[Any]:
    """`versioned_update` for an `AsyncSession`."""
    return await session.run_sync(
        versioned_update,
        model,
        key,
        values,
        conditions,
        version_field=version_column(version_field, version),
        require_precondition=require_precondition,
    )


async def aversioned_delete(
    session: AsyncSession,
    model: Model,
    key: object,
    conditions: Conditions,
    *,
    version_field: str | None = None,
    require_precondition: bool = True,
    version: str | None = None,
) -> None:
    """`versioned_delete` for an `AsyncSession`."""
    await session.run_sync(
        versioned_delete,
        model,
        key,
        conditions,
        version_field=version_column(version_field, version),
        require_precondition=require_precondition,
    )


def version_column(version_field: str | None, version: str | None) -> str | None:
    """The version column named by `version_field`, or by its old name `version` (warned)."""
    if version is None:
        return version_field
    warn_deprecated("version=", "version_field=", stacklevel=4)
    return version


def returns_rows(session: Session, model: Model) -> bool:
    """Whether the database the model's rows live in has ``UPDATE ... RETURNING``."""
    return bool(_bind(session, model).dialect.update_returning)


def dialect_of(session: Session, model: Model) -> str:
    """The name of the dialect of the database the model's rows live in."""
    return str(_bind(session, model).dialect.name)


def _bind(session: Session, model: Model) -> Any:
    return session.get_bind(clause=model) if isinstance(model, Table) else session.get_bind(model)


def _rowcount(result: Result[Any]) -> int:
    # DML statements answer a CursorResult, whose rowcount is the number of
    # rows the WHERE clause matched: the guard's verdict.
    assert isinstance(result, CursorResult)
    return result.rowcount
