"""Guarded UPDATEs compiled once per shape, then run with each call's values.

The ORM builds and compiles an UPDATE anew on every call: a queryset clone
per filter, each lookup resolved, the SQL assembled. For the one-row
``UPDATE ... WHERE pk = %s AND version = %s RETURNING ...`` of
`versioned_update` that was most of its time (bench/adapters.py). A `Plan`
keeps the SQL Django's compiler made for one shape (the model, the
database, the fields set, how many versions the guard names) and the fields
whose values fill its parameters, in order: the SET values, then the
primary key, then the versions. A call of that shape prepares each value
with the very methods the compiler calls (``get_db_prep_save`` for a SET
value; ``get_prep_value`` then ``get_db_prep_value`` for a WHERE value).

A plan is kept only when, for the call that made it, its parameters are
exactly the compiler's own. Shapes a plan cannot describe go through the
compiler every time: a value that is an expression (``F("n") + 1``), a
relation, a field that renders its own placeholder, a queryset with
filters of its own.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.db import connections

#: Shapes kept per process; a bound keeps ever new sets of fields from growing it.
_KEPT: Final = 256


@dataclass(frozen=True, slots=True)
class Plan:
    """The SQL of one shape, and the fields whose values fill its parameters."""

    sql: str
    set_fields: tuple[Any, ...]
    pk_field: Any
    version_field: Any

    def parameters(
        self, connection: Any, values: Mapping[str, Any], pk: Any, versions: Sequence[Any]
    ) -> list[Any]:
        """The call's parameters, prepared as Django's compiler prepares them."""
        out = [
            field.get_db_prep_save(value, connection=connection)
            for field, value in zip(self.set_fields, values.values(), strict=True)
        ]
        out.append(_lookup_value(self.pk_field, pk, connection))
        out.extend(_lookup_value(self.version_field, v, connection) for v in versions)
        return out


def shape(
    rows: Any, values: Mapping[str, Any], version_field: str, versions: Sequence[Any] | None
) -> Hashable | None:
    """The key of the plan for this call, or None when no plan can describe it."""
    if rows.query.where or versions is None:
        return None
    meta = rows.model._meta
    for name, value in values.items():
        field = meta.get_field(name)
        if (
            hasattr(value, "resolve_expression")
            or field.is_relation
            or hasattr(field, "get_placeholder")
            or not field.concrete
        ):
            return None
    return (rows.model, rows.db, tuple(values), version_field, len(versions))


def plan_for(
    rows: Any,
    values: Mapping[str, Any],
    version_field: str,
    sql: str,
    params: Sequence[Any],
    pk: Any,
    versions: Sequence[Any],
) -> Plan | None:
    """A plan made from the compiler's own `sql` and `params` for this call, if they agree."""
    meta = rows.model._meta
    plan = Plan(
        sql,
        tuple(meta.get_field(name) for name in values),
        meta.pk,
        meta.get_field(version_field),
    )
    if list(params) != plan.parameters(connections[rows.db], values, pk, versions):
        return None
    return plan


class Plans:
    """The plans made so far; a shape whose plan did not agree is remembered as None."""

    def __init__(self) -> None:
        self._plans: dict[Hashable, Plan | None] = {}

    def get(self, key: Hashable) -> Plan | bool | None:
        """The plan for `key`; None if it cannot have one; False if not tried yet."""
        return self._plans.get(key, False)

    def keep(self, key: Hashable, plan: Plan | None) -> None:
        if len(self._plans) >= _KEPT:
            self._plans.clear()
        self._plans[key] = plan


def _lookup_value(field: Any, value: Any, connection: Any) -> Any:
    # What an exact or "in" lookup does with its right-hand side.
    return field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)
