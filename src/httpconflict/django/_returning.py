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

from collections.abc import Mapping
from typing import Any, Final

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models.sql import UpdateQuery

#: What `update_returning` answers when it cannot return the row.
UNSUPPORTED: Final = object()

_VENDORS: Final = frozenset({"postgresql", "sqlite"})


def update_returning(rows: Any, values: Mapping[str, Any]) -> Any:
    """``rows.update(**values)`` for at most one row; the row written, None, or `UNSUPPORTED`."""
    db: str = rows.db
    connection = connections[db]
    if connection.vendor not in _VENDORS:
        return UNSUPPORTED
    if connection.vendor == "sqlite" and not connection.features.can_return_rows_from_bulk_insert:
        return UNSUPPORTED  # SQLite before 3.35: no RETURNING at all
    query = rows.query.chain(UpdateQuery)
    query.add_update_values(values)
    if query.related_updates:
        return UNSUPPORTED
    compiler = query.get_compiler(db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # version__in=[]: the WHERE can match no row
        return None
    model = rows.model
    fields = model._meta.concrete_fields
    columns = [field.get_col(model._meta.db_table) for field in fields]
    quote = connection.ops.quote_name
    sql += " RETURNING " + ", ".join(quote(field.column) for field in fields)
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Read to the end: SQLite ends an autocommit statement's transaction
        # (and its write lock) only once the statement has run to completion.
        found = cursor.fetchall()
    if not found:
        return None
    converters = compiler.get_converters(columns)
    (row,) = compiler.apply_converters(found, converters) if converters else found
    return model.from_db(db, [field.attname for field in fields], list(row))
