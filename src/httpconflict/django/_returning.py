"""``UPDATE ... RETURNING`` for a Django queryset: the row as the UPDATE wrote it.

Django's ``QuerySet.update()`` answers a row count only. A conditional
write also needs the row it wrote (its new version is the ETag answered),
and reading it back takes a transaction around the UPDATE and a SELECT:
in bench/adapters.py that costs a third of the requests a plain update
serves. PostgreSQL and SQLite (3.35+) return the written row from the
UPDATE itself, so `update_returning` compiles the queryset's UPDATE with
Django's own compiler, appends ``RETURNING`` with every concrete column,
and turns the row into an instance with the compiler's own converters
(``from_db_value``, the backend's). Where that is not possible (MySQL and
MariaDB have no ``UPDATE ... RETURNING``; an update that also writes a
parent table of multi-table inheritance runs two statements) it answers
`UNSUPPORTED` and the caller reads back in a transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models.sql import UpdateQuery

from ._update_plans import Plan, Plans, plan_for, shape

#: What `update_returning` answers when it cannot return the row.
UNSUPPORTED: Final = object()

_VENDORS: Final = frozenset({"postgresql", "sqlite"})


def update_returning(
    rows: Any,
    pk: Any,
    values: Mapping[str, Any],
    version_field: str,
    versions: Sequence[Any] | None,
) -> Any:
    """Set `values` on row `pk` of `rows` if its version is one of `versions` (None: any).

    Returns the row as written, None when no row matched, or `UNSUPPORTED`.
    """
    db: str = rows.db
    connection = connections[db]
    if connection.vendor not in _VENDORS:
        return UNSUPPORTED
    if connection.vendor == "sqlite" and not connection.features.can_return_rows_from_bulk_insert:
        return UNSUPPORTED  # SQLite before 3.35: no RETURNING at all
    if versions is not None and not versions:
        return None  # the guard names no version this column can hold
    key = shape(rows, values, version_field, versions)
    plan = _PLANS.get(key) if key is not None else None
    if isinstance(plan, Plan):
        sql, params = plan.sql, plan.parameters(connection, values, pk, versions or ())
    else:
        query = matched(rows, pk, version_field, versions).query.chain(UpdateQuery)
        query.add_update_values(values)
        if query.related_updates:
            return UNSUPPORTED
        try:
            sql, params = query.get_compiler(db).as_sql()
        except EmptyResultSet:  # the WHERE can match no row
            return None
        sql += " RETURNING " + ", ".join(
            connection.ops.quote_name(field.column) for field in rows.model._meta.concrete_fields
        )
        if key is not None and plan is False:
            made = plan_for(rows, values, version_field, sql, params, pk, versions or ())
            _PLANS.keep(key, made)
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Read to the end: SQLite ends an autocommit statement's transaction
        # (and its write lock) only once the statement has run to completion.
        found = cursor.fetchall()
    if not found:
        return None
    return _instance(rows, found[0], connection)


def matched(rows: Any, pk: Any, version_field: str, versions: Sequence[Any] | None) -> Any:
    """Row `pk` of `rows`, if its version is one of `versions` (None: any)."""
    # Two filters, not one: the WHERE clause then lists the key first and the
    # version second whatever the field names, as plans expect.
    found = rows.filter(pk=pk)
    if versions is None:
        return found
    if len(versions) == 1:
        return found.filter(**{version_field: versions[0]})
    return found.filter(**{f"{version_field}__in": versions})


def _instance(rows: Any, row: Sequence[Any], connection: Any) -> Any:
    """The model instance of a returned row, its columns converted as a SELECT's are."""
    model = rows.model
    reader = _READERS.get((model, rows.db))
    if reader is None:
        fields = model._meta.concrete_fields
        columns = [field.get_col(model._meta.db_table) for field in fields]
        converters = rows.query.get_compiler(rows.db).get_converters(columns)
        reader = ([field.attname for field in fields], tuple(converters.items()))
        _READERS[(model, rows.db)] = reader
    names, converters = reader
    values = list(row)
    for position, (functions, expression) in converters:
        value = values[position]
        for convert in functions:
            value = convert(value, expression, connection)
        values[position] = value
    return model.from_db(rows.db, names, values)


_PLANS: Final = Plans()
#: Per model and database: the attribute names of its columns and their converters.
_READERS: dict[tuple[Any, str], tuple[list[str], tuple[Any, ...]]] = {}
