"""SQLAlchemy: If-Match turned into ONE atomic ``UPDATE ... WHERE id = ? AND version = ?``.

    from httpconflict import Conditions
    from httpconflict.sqlalchemy import etag_of, versioned_delete, versioned_update

    conditions = Conditions.from_headers(request_headers)   # any framework's headers
    etag = versioned_update(session, Note, note_id, {"title": "new"}, conditions)
    session.commit()                    # the helper never commits; you do
    response_headers["ETag"] = etag.to_header()

    versioned_delete(session, Note, note_id, conditions)
    etag_of(note)                       # the ETag of a loaded row, for GET

Each raises the error a server answers with: `PreconditionFailed` (412, with
``current_etag``) when the stored version is not one the If-Match names,
`PreconditionRequired` (428) when the row exists and the request names no
version, `NotFound` (404) when there is no row. Async: `aversioned_update`,
`aversioned_delete` take an `AsyncSession` (they run the same code through
``AsyncSession.run_sync``).

Tables with SQLAlchemy's own ``__mapper_args__ = {"version_id_col": ...}``:
load the row, change it, then `flush_versioned(session, row, conditions)`
(or `aflush_versioned`): the If-Match is checked against the loaded
version, and the ORM's flush (``UPDATE ... WHERE version = <loaded>``)
re-checks it atomically; its `StaleDataError` becomes a 412.

Theory of operation: the helpers are a store for the core's `write_flow`.
The flow turns the request's conditions into a `Guard` (the versions the row
may have); the helper puts the guard into the WHERE clause of the one
UPDATE or DELETE, and only when no row matched reads what is there, so the
flow can tell 404 from 412 from 428. A request without a precondition
reads first: a row that exists answers 428, and nothing is written. The
entity-tag of a row is its version as a strong tag (``"7"``); an If-Match
naming anything else matches nothing. `versioned_update` sets the version
to itself plus one in the same UPDATE (an integer column, also when it is
the mapper's ``version_id_col``); `flush_versioned` leaves the new version
to the ORM. Framework-free: this module imports SQLAlchemy and the core
only.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    Table,
    and_,
    delete,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from ._etag import ETag
from ._preconditions import Conditions, Validators
from ._refusals import precondition_failed, refusal
from ._write import Guard, WriteResult, run_write, write_flow

__all__ = [
    "aflush_versioned",
    "aversioned_delete",
    "aversioned_update",
    "etag_of",
    "flush_versioned",
    "version_etag",
    "versioned_delete",
    "versioned_update",
]

#: A mapped class or a `Table`.
Model = Any


def version_etag(version: object) -> ETag:
    """The strong entity-tag of a row whose version column holds `version`."""
    return ETag(str(version))


def etag_of(row: object, *, version: str | None = None) -> ETag:
    """The entity-tag of a loaded ORM object, from its version column.

    The column is the mapper's ``version_id_col``, else the attribute named
    `version` (default ``"version"``).
    """
    mapper: Mapper[Any] = inspect(row).mapper
    return version_etag(getattr(row, _version_attribute(mapper, version)))


def versioned_update(
    session: Session,
    model: Model,
    key: object,
    values: Mapping[str, Any],
    conditions: Conditions,
    *,
    version: str | None = None,
    require_precondition: bool = True,
) -> ETag:
    """Set `values` on the row `key` if its version satisfies `conditions`; one UPDATE.

    Returns the new entity-tag. The version column (``version_id_col`` or
    `version`, default ``"version"``) must be an integer; it is increased by
    one. `key` is the primary key value (a tuple for a composite key).
    Raises `PreconditionFailed`, `PreconditionRequired` or `NotFound`.
    """
    table = _table(model, version)
    where = table.where_key(key)

    def write(guard: Guard) -> WriteResult:
        matched = table.guard_clause(guard)
        if matched is not None:
            bump = {table.version.key: table.version + 1}
            statement = (
                update(table.entity)
                .where(where, matched)
                .values({**values, **bump})
                .execution_options(synchronize_session=False)
            )
            new_version = _written_version(session, table, statement, where)
            if new_version is not None:
                table.refresh_later(session, key)
                return WriteResult(True, Validators(version_etag(new_version)))
        return WriteResult(False, read())

    def read() -> Validators | None:
        return table.current(session, where)

    flow = write_flow(
        "PUT", conditions, requested=None, require_precondition=require_precondition, creates=False
    )
    decision = run_write(flow, read, write)
    error = refusal(decision)
    if error is not None:
        raise error
    assert decision.current is not None
    assert decision.current.etag is not None
    return decision.current.etag


def versioned_delete(
    session: Session,
    model: Model,
    key: object,
    conditions: Conditions,
    *,
    version: str | None = None,
    require_precondition: bool = True,
) -> None:
    """Delete the row `key` if its version satisfies `conditions`; one DELETE.

    Raises `PreconditionFailed`, `PreconditionRequired` or `NotFound`.
    """
    table = _table(model, version)
    where = table.where_key(key)

    def write(guard: Guard) -> WriteResult:
        matched = table.guard_clause(guard)
        if matched is not None:
            statement = (
                delete(table.entity)
                .where(where, matched)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(session.execute(statement)):
                table.forget(session, key)
                return WriteResult(True, None)
        return WriteResult(False, read())

    def read() -> Validators | None:
        return table.current(session, where)

    flow = write_flow(
        "DELETE", conditions, requested=None, require_precondition=require_precondition
    )
    error = refusal(run_write(flow, read, write))
    if error is not None:
        raise error


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
    table = _table(mapper.class_, None)
    deleting = row in session.deleted
    attribute = _version_attribute(mapper, None)
    with session.no_autoflush:
        # Reading an expired attribute would otherwise flush the pending
        # changes first: an unchecked write.
        loaded = Validators(version_etag(getattr(row, attribute)))
    if state.identity is None:
        raise ValueError("the row is not in the database yet: there is no version to check")
    where = table.where_key(state.identity)
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
            stale = table.current(session, where)
            return WriteResult(False, stale)
        if deleting:
            return WriteResult(True, None)
        return WriteResult(True, Validators(version_etag(getattr(row, attribute))))

    method = "DELETE" if deleting else "PUT"
    flow = write_flow(
        method, conditions, requested=None, require_precondition=require_precondition, creates=False
    )
    decision = run_write(flow, lambda: loaded, write)
    error = refusal(decision)
    if error is not None:
        raise error
    return None if decision.current is None else decision.current.etag


async def aversioned_update(
    session: AsyncSession,
    model: Model,
    key: object,
    values: Mapping[str, Any],
    conditions: Conditions,
    *,
    version: str | None = None,
    require_precondition: bool = True,
) -> ETag:
    """`versioned_update` for an `AsyncSession`."""
    return await session.run_sync(
        versioned_update,
        model,
        key,
        values,
        conditions,
        version=version,
        require_precondition=require_precondition,
    )


async def aversioned_delete(
    session: AsyncSession,
    model: Model,
    key: object,
    conditions: Conditions,
    *,
    version: str | None = None,
    require_precondition: bool = True,
) -> None:
    """`versioned_delete` for an `AsyncSession`."""
    await session.run_sync(
        versioned_delete,
        model,
        key,
        conditions,
        version=version,
        require_precondition=require_precondition,
    )


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


@dataclass(frozen=True, slots=True)
class _Table:
    """What the statements need to know about a model: its key and version columns."""

    entity: Model
    key: tuple[Any, ...]
    version: Any
    integer: bool

    def where_key(self, key: object) -> ColumnElement[bool]:
        values = key if isinstance(key, tuple) else (key,)
        if len(values) != len(self.key):
            raise ValueError(f"the primary key has {len(self.key)} columns, got {key!r}")
        return and_(*(column == value for column, value in zip(self.key, values, strict=True)))

    def guard_clause(self, guard: Guard) -> ColumnElement[bool] | None:
        """The guard as a WHERE clause on the version; None when it can never hold."""
        if guard.exists is False:
            return None  # these helpers never create a row
        if guard.etags is None:
            return true()
        versions = [v for v in map(self.version_of, guard.etags) if v is not None]
        return self.version.in_(versions) if versions else None

    def version_of(self, opaque: str) -> object | None:
        """The version an entity-tag names; None when it names none of this table's."""
        if not self.integer:
            return opaque
        return int(opaque) if opaque.isascii() and opaque.isdigit() else None

    def validators(self, found: Any) -> Validators | None:
        return None if found is None else Validators(version_etag(found[0]))

    def loaded(self, session: Session, key: object) -> object | None:
        """The object for `key` in the session's identity map, if any (no query)."""
        if isinstance(self.entity, Table):
            return None
        values = key if isinstance(key, tuple) else (key,)
        return session.identity_map.get(identity_key(self.entity, values))

    def refresh_later(self, session: Session, key: object) -> None:
        """Expire a loaded object the UPDATE changed, so it reloads when next read.

        The statements skip SQLAlchemy's session synchronisation: its
        "fetch" strategy costs a SELECT before the UPDATE where there is no
        RETURNING, and "evaluate" fails on values it cannot compute in Python.
        """
        row = self.loaded(session, key)
        if row is not None:
            session.expire(row)

    def forget(self, session: Session, key: object) -> None:
        """Drop a loaded object whose row the DELETE removed."""
        row = self.loaded(session, key)
        if row is not None:
            session.expunge(row)

    def current(self, session: Session, where: ColumnElement[bool]) -> Validators | None:
        """The validators stored now, as the write just refused saw them."""
        statement = select(self.version).where(where)
        if session.get_bind(clause=statement).dialect.name in ("mysql", "mariadb"):
            # InnoDB's REPEATABLE READ answers a plain SELECT from the snapshot
            # of the transaction's first read, which may predate the version
            # that made the UPDATE match nothing; a locking read sees it.
            statement = statement.with_for_update(read=True)
        return self.validators(session.execute(statement).first())


def _table(model: Model, version: str | None) -> _Table:
    return _cached_table(model, version)


@functools.lru_cache(maxsize=256)
def _cached_table(model: Hashable, version: str | None) -> _Table:
    if isinstance(model, Table):
        name = version or "version"
        return _Table(
            model,
            tuple(model.primary_key.columns),
            model.c[name],
            _is_integer(model.c[name]),
        )
    mapper: Mapper[Any] = inspect(model)
    column = getattr(model, _version_attribute(mapper, version))
    return _Table(model, tuple(mapper.primary_key), column, _is_integer(column))


def _version_attribute(mapper: Mapper[Any], version: str | None) -> str:
    if version is not None:
        return version
    if mapper.version_id_col is not None:
        return mapper.get_property_by_column(mapper.version_id_col).key
    return "version"


def _is_integer(column: Any) -> bool:
    try:
        return issubclass(column.type.python_type, int)
    except NotImplementedError:
        return False


def _written_version(session: Session, table: _Table, statement: Any, where: Any) -> object | None:
    """Run the guarded UPDATE; the version it wrote, or None when no row matched."""
    if session.get_bind(clause=statement).dialect.update_returning:
        return session.execute(statement.returning(table.version)).scalar_one_or_none()
    if not _rowcount(session.execute(statement)):
        return None
    # No RETURNING (MySQL): the row is locked by this transaction's UPDATE
    # until it ends, so this read sees the version just written.
    written: object = session.execute(select(table.version).where(where)).scalar_one()
    return written


def _rowcount(result: Result[Any]) -> int:
    # DML statements answer a CursorResult, whose rowcount is the number of
    # rows the WHERE clause matched: the guard's verdict.
    assert isinstance(result, CursorResult)
    return result.rowcount
