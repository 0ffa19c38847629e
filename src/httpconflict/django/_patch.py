"""`versioned_patch`: a JSON patch of a Django row, checked in ONE UPDATE, rebased when asked.

The core's `patch_flow` decides; this module is its store, as
`versioned_update` is the write flow's. The row is a JSON document to the
API (`document(row)`), the patch is applied to it, and the patched
document's values are set by one ``UPDATE ... WHERE id = %s AND version =
%s`` pinned to the version the patch was computed from, so a writer who
slips in between makes it match nothing and the patch is computed again
on what that writer stored.

A stale If-Match is a 412, unless the client asked for a rebase (``Prefer:
rebase``) and `history(version)` can say what the row held at the version
If-Match names (the app's versions table, django-simple-history, ...):
then a patch touching nothing changed since is applied to the current row,
and one that does is a 409 naming each clash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, cast

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F

from .._column_values import ColumnKind, ColumnType, column_values
from .._deprecation import warn_deprecated
from .._patch import Patch
from .._patch_flow import Base, PatchDecision, Snapshot, WriteDocument, patch_flow, run_patch
from .._preconditions import Conditions
from .._rebase import prefers_rebase
from .._refusals import patch_refusal
from .._versioned_row import VersionedRow, patched_row
from .._write import WriteResult
from ._requests import HasHeaders, request_body, request_conditions
from ._returning import UNSUPPORTED, matched, update_returning
from ._versioned import auto_now, rows_of, version_named, version_validators

#: What a row is to the API: its fields as JSON.
Document = Callable[[Any], dict[str, Any]]
#: What the row held at a version (None: not kept), in the shape `document` gives.
History = Callable[[int], Mapping[str, Any] | None]


def versioned_patch(
    model: Any,
    key: Any,
    patch: Patch,
    conditions: Conditions | HasHeaders,
    *,
    document: Document,
    values: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    history: History | None = None,
    rebase: bool | None = None,
    version_field: str = "version",
) -> VersionedRow[Any]:
    """Apply `patch` to row `key` if the request's preconditions hold; the row written, and how.

    `conditions` is the request (its preconditions and its ``Prefer:
    rebase`` are read from it) or parsed `Conditions`; `rebase` None follows
    the request. `document(row)` is the row as the API shows it;
    `values(patched)` the field values to set from the patched document
    (default: itself). Returns the row, its new entity-tag, whether it
    changed and, when rebased, the version it was made from. Raises
    `PreconditionFailed` (412: stale, or its base is not in `history`),
    `MergeConflict` (409), `PreconditionRequired` (428), `NotFound` (404),
    `Contended` (503), `InvalidDocument` (422) for a patch that adds or
    removes a member of the document, makes it something other than an
    object, or sets a field to a value its internal type does not hold (a
    JSON object or array in a field of text, numbers, dates, keys...; a
    number or boolean in a text field; a fraction, a number beyond the
    database's range or a string that is no integer in an integer field; a
    number in a boolean one; a string that is no ISO 8601 date in a date
    field), or the patch's own errors. (Called the old way,
    ``(queryset, pk, request, patch)``, it returns ``(row, decision)``,
    with a warning.)
    """
    if isinstance(conditions, Patch) and not isinstance(patch, Patch):
        warn_deprecated(
            "versioned_patch(queryset, pk, request, patch)",
            "versioned_patch(model, key, patch, conditions)",
        )
        pair = _patch(
            model, key, conditions, patch, document, values, history, rebase, version_field
        )
        return cast("VersionedRow[Any]", pair)  # the old answer, for one more release
    row, decision = _patch(
        model, key, patch, conditions, document, values, history, rebase, version_field
    )
    return patched_row(row, decision)


def _patch(
    model: Any,
    key: Any,
    patch: Patch,
    request: Conditions | HasHeaders,
    document: Document,
    values: Callable[[dict[str, Any]], Mapping[str, Any]] | None,
    history: History | None,
    rebase: bool | None,
    version_field: str,
) -> tuple[Any, PatchDecision]:
    """The row patched, and the decision."""
    if isinstance(request, Conditions):
        conditions = request
    else:
        conditions = request_conditions(request)
        if rebase is None:
            prefer = request.headers.get("Prefer")
            rebase = prefers_rebase([prefer] if prefer is not None else [])
    rows, db = rows_of(model)
    to_values = values or (lambda patched: patched)
    seen: list[Any] = [None]  # the row as last read or written

    def read() -> Snapshot | None:
        row = rows.filter(pk=key).first()
        seen[0] = row
        current = version_validators(row, version_field)
        return None if current is None else Snapshot(current, document(row))

    def read_base(tags: tuple[str, ...]) -> Base | None:
        if history is None:
            return None
        for tag in tags:
            version = version_named(rows.model, tag, version_field)
            found = history(version) if isinstance(version, int) else None
            if found is not None:
                return Base(tag, dict(found))
        return None

    def write(command: WriteDocument) -> WriteResult:
        assert isinstance(command.document, dict)
        # The write is pinned to the version the patch was computed from.
        assert command.guard.etags is not None
        (tag,) = command.guard.etags
        version = version_named(rows.model, tag, version_field)
        values = to_values(command.document)
        values = column_values(values, field_types(rows.model, values, db))
        written = {**auto_now(rows.model), **values}
        written[version_field] = version + 1
        row = update_returning(rows, key, written, version_field, [version])
        if row is UNSUPPORTED:
            with transaction.atomic(using=db):
                written[version_field] = F(version_field) + 1
                count = matched(rows, key, version_field, [version]).update(**written)
                row = rows.filter(pk=key).first() if count else None
        if row is None:
            current = version_validators(rows.filter(pk=key).first(), version_field)
            return WriteResult(False, current)
        seen[0] = row
        return WriteResult(True, version_validators(row, version_field))

    flow = patch_flow(
        conditions, patch, rebase=bool(rebase), require_precondition=True, fixed_members=True
    )
    decision = run_patch(flow, read, read_base, write)
    error = patch_refusal(decision, conditions)
    if error is not None:
        raise error
    return seen[0], decision


#: What Django's internal field types hold (a JSONField holds any JSON value: not here).
_FIELD_KINDS: Final = {
    **dict.fromkeys(
        ("CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField"),
        ColumnKind.TEXT,
    ),
    **dict.fromkeys(("BooleanField", "NullBooleanField"), ColumnKind.BOOLEAN),
    "FloatField": ColumnKind.NUMBER,
    "DecimalField": ColumnKind.DECIMAL,
    "DateField": ColumnKind.DATE,
    "DateTimeField": ColumnKind.DATETIME,
    "TimeField": ColumnKind.TIME,
    **dict.fromkeys(
        ("FileField", "ImageField", "GenericIPAddressField", "IPAddressField", "UUIDField"),
        ColumnKind.SCALAR,
    ),
    **dict.fromkeys(
        ("DurationField", "BinaryField", "ForeignKey", "OneToOneField"), ColumnKind.SCALAR
    ),
}


def field_types(model: Any, names: Iterable[str], db: str) -> dict[str, ColumnType]:
    """What each of `names` that is a field of `model` (by name or column attname) holding
    one scalar holds, integers with the range of database `db`."""
    fields = {}
    for field in model._meta.concrete_fields:
        fields[field.name] = fields[field.attname] = field
    found: dict[str, ColumnType] = {}
    for name in names:
        if name not in fields:
            continue
        internal = fields[name].get_internal_type()
        if internal.endswith(("IntegerField", "AutoField")):
            low, high = connections[db].ops.integer_field_range(internal)
            found[name] = ColumnType(ColumnKind.INTEGER, low, high)
        elif internal == "DateTimeField":
            # With USE_TZ Django keeps the instant (as UTC where the database
            # has no zones); without it, a time without a zone. Its columns keep
            # a microsecond (MySQL's datetime(6)).
            found[name] = ColumnType(ColumnKind.DATETIME, zoned=bool(settings.USE_TZ))
        elif internal == "TimeField":
            # A time column without a zone on each database, USE_TZ or not.
            found[name] = ColumnType(ColumnKind.TIME, zoned=False)
        elif internal == "DecimalField":
            field = fields[name]
            found[name] = ColumnType(
                ColumnKind.DECIMAL, precision=field.max_digits, scale=field.decimal_places
            )
        elif internal in _FIELD_KINDS:
            found[name] = ColumnType(_FIELD_KINDS[internal])
    return found


def request_patch(request: Any) -> Patch:
    """The patch a request carries: 415 unless a merge patch or JSON Patch sent as it is
    (no content coding), 400 when malformed."""
    return Patch.parse(request.headers.get("Content-Type"), request_body(request))
