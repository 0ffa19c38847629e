"""`versioned_patch`: a JSON patch of a row, checked in ONE UPDATE, rebased when asked.

The core's `patch_flow` decides; this module is its store. A row is seen
as a JSON document (`document`: the row's fields as the API shows them),
which the patch is applied to; the patched document becomes column values
(`values`) set by one ``UPDATE ... WHERE id = ? AND version = ?`` pinned
to the version the patch was computed from. A writer that slips in between
makes the UPDATE match nothing, and the flow computes the patch again on
what it wrote.

A stale If-Match is a 412, unless the client asked for a rebase (``Prefer:
rebase``, `rebase=True`) and `history` can say what the row held at the
version If-Match names: then a patch that touches nothing changed since is
applied to the current row, and one that does is a 409 naming each clash.
Rows keep no history of their own; `history(version)` is the app's (a
versions table written in the transaction of each write, for example).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import CursorResult, Table, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .._column_values import column_values
from .._patch import Patch
from .._patch_flow import Base, Snapshot, WriteDocument, patch_flow, run_patch
from .._preconditions import Conditions, Validators
from .._refusals import patch_refusal
from .._versioned_row import VersionedRow, patched_row
from .._write import WriteResult
from ._table import Model, table_of
from ._versioned import dialect_of, returns_rows, version_column

#: What a row is to the API: its fields as JSON.
Document = Callable[[Any], dict[str, Any]]
#: What the row held at a version (None: not kept), in the shape `document` gives.
History = Callable[[int], Mapping[str, Any] | None]


def versioned_patch(
    session: Session,
    model: Model,
    key: object,
    patch: Patch,
    conditions: Conditions,
    *,
    document: Document,
    values: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    history: History | None = None,
    rebase: bool | None = None,
    version_field: str | None = None,
    version: str | None = None,
) -> VersionedRow[Any]:
    """Apply `patch` to row `key` if its version satisfies `conditions`; one UPDATE.

    `document(row)` is the row as the API shows it (a mapped object, or a
    `Row` for a `Table`); `values(patched)` the column values to set from
    the patched document (default: the document itself). `rebase` None
    follows the request (FastAPI's `Preconditions` carry its ``Prefer:
    rebase``; plain `Conditions` do not ask). Returns the row as written,
    its new entity-tag, whether it changed, and ``rebased_from`` when the
    patch was rebased. Raises `PreconditionFailed` (412: stale, or its base
    is not in `history`), `MergeConflict` (409), `PreconditionRequired`
    (428), `NotFound` (404), `Contended` (503), `InvalidDocument` (422) for
    a patch that adds or removes a member of the document, makes it
    something other than an object, or sets a column to a value its type
    (``python_type``) does not hold: a JSON object or array in a column of
    text, numbers, dates...; a number or boolean in a text column; a
    fraction, a number beyond the database's range or a string that is no
    integer in an integer column; a number in a boolean one; a string that
    is no ISO 8601 date in a date column (one that is becomes a `datetime`,
    a number's string in a number column the number); or a patch's own
    errors (409 for a failed ``test``). (`version` is the old name of `version_field`.)
    """
    table = table_of(model, version_column(version_field, version))
    exists = table.names_a_row(key, dialect_of(session, model))  # past its range: 404
    to_values = values or (lambda patched: patched)
    seen: list[object] = [None]  # the row as last read or written

    def read() -> Snapshot | None:
        if not exists:
            return None
        statement = select(model).where(table.where_key(key))
        if session.get_bind(clause=statement).dialect.name in ("mysql", "mariadb"):
            # A locking read sees the newest version, not the transaction's
            # first snapshot (see `_Table.current`).
            statement = statement.with_for_update(read=True)
        if not isinstance(model, Table):
            statement = statement.execution_options(populate_existing=True)
            row = session.execute(statement).scalar_one_or_none()
        else:
            row = session.execute(statement).first()
        if row is None:
            return None
        seen[0] = row
        return Snapshot(Validators(table.etag_in(row)), document(row))

    def read_base(tags: tuple[str, ...]) -> Base | None:
        if history is None:
            return None
        for tag in tags:
            number = table.version_of(tag)
            found = history(number) if isinstance(number, int) else None
            if found is not None:
                return Base(tag, dict(found))
        return None

    def write(command: WriteDocument) -> WriteResult:
        assert isinstance(command.document, dict)
        versions = table.versions(command.guard, dialect_of(session, model))
        returning = returns_rows(session, model)
        values = to_values(command.document)
        bind = (
            session.get_bind(clause=model) if isinstance(model, Table) else session.get_bind(model)
        )
        dialect = bind.dialect.name
        values = column_values(values, table.column_types(values, dialect))
        statement, parameters = table.update(key, values, versions, returning=returning)
        result = session.execute(statement, parameters)
        written: object
        if returning:
            written = table.returned(result)
        else:
            assert isinstance(result, CursorResult)
            written = table.written_row(session, key) if result.rowcount else None
        if written is None:
            return WriteResult(False, table.current(session, key))
        seen[0] = written
        return WriteResult(True, Validators(table.etag_in(written)))

    if rebase is None:
        rebase = bool(getattr(conditions, "rebase", False))
    flow = patch_flow(
        conditions, patch, rebase=rebase, require_precondition=True, fixed_members=True
    )
    decision = run_patch(flow, read, read_base, write)
    error = patch_refusal(decision, conditions)
    if error is not None:
        raise error
    return patched_row(seen[0], decision)


async def aversioned_patch(
    session: AsyncSession,
    model: Model,
    key: object,
    patch: Patch,
    conditions: Conditions,
    *,
    document: Document,
    values: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    history: History | None = None,
    rebase: bool | None = None,
    version_field: str | None = None,
    version: str | None = None,
) -> VersionedRow[Any]:
    """`versioned_patch` for an `AsyncSession` (`history` runs in its sync context)."""
    return await session.run_sync(
        lambda sync: versioned_patch(
            sync,
            model,
            key,
            patch,
            conditions,
            document=document,
            values=values,
            rebase=rebase,
            history=history,
            version_field=version_column(version_field, version),
        )
    )
