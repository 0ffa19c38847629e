"""Optimistic concurrency for Django models: a version column checked in the UPDATE.

Theory of operation: a model with an integer version column has a strong
entity-tag per row state, its version quoted (``"7"``). `versioned_update`
lets the core turn the request's preconditions into a `Guard`
(`write_flow`) and carries it into ONE statement,

    UPDATE note SET ..., version = version + 1 WHERE id = %s AND version IN (%s)

whose row count says whether the guard held. When it did not, the current
row is read and the core decides: 404, 412 naming the version now stored,
428 for a write that named no version. There is no SELECT-then-UPDATE
window in which a second writer can slip in. The row answered is the one
this request wrote, never a later one: on PostgreSQL and SQLite the UPDATE
returns it (``RETURNING``, _returning.py); on MySQL and MariaDB it is read
back in the transaction of its UPDATE, while the UPDATE's lock is held.

A stale version is a 412 whatever the row holds: a row holding the values
asked for may hold them because another client wrote the same change
(two clients that read 5 and both write 6). A retry whose first answer was
lost is told apart by its Idempotency-Key (`IdempotencyMiddleware`).

`versioned_delete` checks the version with the same conditional UPDATE
(which also locks the row), then deletes in the same transaction, so
Django's delete (cascades, signals) removes exactly the version the client
named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone

from .._deprecation import warn_deprecated
from .._etag import ETag
from .._preconditions import Conditions, Validators
from .._refusals import refusal
from .._versioned_row import VersionedRow
from .._write import Guard, WriteResult, run_write, write_flow
from ._requests import HasHeaders, request_conditions
from ._returning import UNSUPPORTED, matched, update_returning


def etag_of(row: Any, *, version_field: str = "version") -> ETag:
    """The strong entity-tag of a row: its version, quoted (``"7"``)."""
    return ETag(str(getattr(row, version_field)))


def version_etag(instance: Any, version_field: str = "version") -> ETag:
    """Deprecated: `etag_of`."""
    warn_deprecated("httpconflict.django.version_etag(row)", "etag_of(row)")
    return etag_of(instance, version_field=version_field)


def version_validators(instance: Any, version_field: str = "version") -> Validators | None:
    """The validators of a row, or None for no row (the resource does not exist)."""
    return None if instance is None else Validators(etag_of(instance, version_field=version_field))


def versioned_update(
    model: Any,
    key: Any,
    values: Mapping[str, Any],
    conditions: Conditions | HasHeaders,
    *,
    version_field: str = "version",
    require_precondition: bool = True,
) -> VersionedRow[Any]:
    """Set `values` on row `key` if the request's preconditions hold; the row written, and its ETag.

    `model` is a model, manager or queryset (only its rows can be written);
    `conditions` the request's parsed `Conditions`, or the request itself.
    Raises `NotFound` (404), `PreconditionFailed` (412, with
    ``current_etag``), `PreconditionRequired` (428: the request names no
    version) or `Contended` (503). Fields with ``auto_now`` are set as
    ``save()`` would. (Called the old way, ``(queryset, pk, request,
    values)``, it returns the bare row, with a warning.)
    """
    if isinstance(conditions, Mapping) and not isinstance(values, Mapping):
        warn_deprecated(
            "versioned_update(queryset, pk, request, values)",
            "versioned_update(model, key, values, conditions).row",
        )
        return _update(model, key, conditions, values, version_field, require_precondition).row
    return _update(model, key, values, conditions, version_field, require_precondition)


def _update(
    model: Any,
    key: Any,
    values: Mapping[str, Any],
    request: Conditions | HasHeaders,
    version_field: str,
    require_precondition: bool,
) -> VersionedRow[Any]:
    conditions = _parse(request)
    rows, db = rows_of(model)
    written = {**auto_now(rows.model), **values}
    seen: list[Any] = [None]  # the row as last read

    def read() -> Validators | None:
        seen[0] = rows.filter(pk=key).first()
        return version_validators(seen[0], version_field)

    def write(guard: Guard) -> WriteResult:
        versions = _versions(rows.model, guard, version_field)
        # The WHERE clause pins one version v: the next is v + 1, a value
        # (cheaper than the expression F(version) + 1 that any other guard needs).
        bump = versions[0] + 1 if versions and len(versions) == 1 else F(version_field) + 1
        written[version_field] = bump
        row = update_returning(rows, key, written, version_field, versions)
        if row is not UNSUPPORTED:
            seen[0] = row
            return WriteResult(True, version_validators(row, version_field)) if row else _refused()
        with transaction.atomic(using=db):
            count = matched(rows, key, version_field, versions).update(**written)
            current = read()
        return WriteResult(count > 0, current)

    def _refused() -> WriteResult:
        return WriteResult(False, read())

    # An update never creates: a row that is not there is a 404.
    flow = write_flow(
        "PATCH",
        conditions,
        requested=None,
        creates=False,
        require_precondition=require_precondition,
    )
    decision = run_write(flow, read, write)
    error = refusal(decision, conditions)
    if error is not None:
        raise error
    return VersionedRow(seen[0], etag_of(seen[0], version_field=version_field))


def versioned_delete(
    model: Any,
    key: Any,
    conditions: Conditions | HasHeaders,
    *,
    version_field: str = "version",
    require_precondition: bool = True,
) -> None:
    """Delete row `key` if the request's preconditions hold.

    Raises as `versioned_update` does. The version check is a conditional
    UPDATE that locks the row; Django's ``delete()`` follows in the same
    transaction.
    """
    parsed = _parse(conditions)
    rows, db = rows_of(model)

    def read() -> Validators | None:
        return version_validators(rows.filter(pk=key).first(), version_field)

    def write(guard: Guard) -> WriteResult:
        with transaction.atomic(using=db):
            bump = {version_field: F(version_field) + 1}
            versions = _versions(rows.model, guard, version_field)
            guarded = matched(rows, key, version_field, versions)
            if guarded.update(**bump):
                rows.filter(pk=key).delete()
                return WriteResult(True)
            return WriteResult(False, read())

    flow = write_flow("DELETE", parsed, requested=None, require_precondition=require_precondition)
    error = refusal(run_write(flow, read, write), parsed)
    if error is not None:
        raise error


def _parse(conditions: Conditions | HasHeaders) -> Conditions:
    return conditions if isinstance(conditions, Conditions) else request_conditions(conditions)


def rows_of(source: Any) -> tuple[Any, str]:
    """The queryset of `source` on the database writes go to, and that database's alias."""
    # A model's default manager, a manager or a queryset: each has .model,
    # ._db and .using() (one clone of the query; they add up on a hot path).
    model: Any = source
    rows = model._default_manager if isinstance(source, type) else source
    db = rows._db or router.db_for_write(rows.model)
    # Reads too: the row read back must come from the database just written.
    return rows.using(db), db


def _versions(model: Any, guard: Guard, version_field: str) -> list[Any] | None:
    """The versions the guard allows; None for any."""
    if guard.etags is None:
        return None
    field = model._meta.get_field(version_field)
    return [v for v in (_version(field, opaque) for opaque in guard.etags) if v is not None]


def version_named(model: Any, opaque: str, version_field: str) -> Any:
    """The version of `model` an entity-tag names, or None when it names none."""
    return _version(model._meta.get_field(version_field), opaque)


def _version(field: Any, opaque: str) -> Any:
    """The version an entity-tag names, or None when it names none."""
    try:
        value = field.to_python(opaque)
    except ValidationError:
        return None
    # RFC 9110 §8.8.3.2: strong comparison is character by character, so
    # "07" is not the tag of version 7, whose tag is "7".
    if str(value) != opaque:
        return None
    # Nor does a number past what the column holds name a version: sent, it
    # would fail the statement (a refusal of the body, not a 412).
    if isinstance(value, int) and not _in_range(field, value):
        return None
    return value


def _in_range(field: Any, value: int) -> bool:
    ops = connections[router.db_for_write(field.model)].ops
    try:
        low, high = ops.integer_field_range(field.get_internal_type())
    except KeyError:  # not an integer field the backend knows: no bound of its own
        low, high = None, None
    return (low is None or value >= low) and (high is None or value <= high)


def auto_now(model: Any) -> dict[str, Any]:
    fields = model._meta.concrete_fields
    return {f.name: timezone.now() for f in fields if getattr(f, "auto_now", False)}
