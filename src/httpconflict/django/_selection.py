"""The changelist's "delete selected" action, over the versions its pages showed.

Theory of operation: Django's action is two requests. The changelist's
form sends the selected rows' keys (``_selected_action``) and the action;
the answer is a confirmation page whose form sends the keys again, with
``post=yes``, and that request deletes. Between the list being opened and
the confirmation, someone else may save a selected row: Django deleted it
and that save with it, and no one was told.

Here each key a page sends carries the version its row was shown at,
``7@3`` (`shown_at`: the changelist's checkbox, and each row of the
confirmation page, both render the row's ``pk``). `take_versions` puts
the keys back in the request before Django reads them, and keeps the
versions for the action (`delete_over_versions`):

- the confirmation asked for: a selected row saved since the list showed
  it is not confirmed; the user is told which, and sent back to the list,
  which shows what is stored now. Otherwise the page lists the rows at the
  versions read for it.
- confirmed: in one transaction, each selected row is held at the version
  the confirmation showed (the guarded ``UPDATE ... SET version = version``
  of the change form, grouped by version), then Django's action deletes.
  A row saved since refuses the whole action: nothing is deleted, and the
  user is told which rows changed. A row deleted since is no reason to
  refuse: it is gone, as the user asked.

A key sent without a version (a template of one's own that renders
something else than the row's ``pk``) is deleted as Django did.

The app's own actions (`act_over_versions`) are held the same way: in
one transaction, each selected row at the version the list showed, then
the action runs, on a queryset whose ``update()`` also increments the
version (a change form opened before the action then does not save over
what it wrote). A row saved since refuses the action: it is not run, and
the user is told which rows changed. An action marked with
`unversioned_action` (an export, which writes nothing) runs as Django ran
it.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Final

from django.contrib import messages
from django.db import router, transaction
from django.db.models import F

from .._stale_forms import quoted, stale_action_message, stale_selection_message

__all__ = [
    "act_over_versions",
    "checks_versions",
    "delete_over_versions",
    "shown_at",
    "take_versions",
    "unversioned_action",
]

#: Between a key and the version its page showed it at, in a selected row's value.
_AT: Final = "@"
#: The attribute `unversioned_action` sets False on an action.
_CHECKED: Final = "checks_versions"
#: Where `take_versions` leaves the versions the request's page showed, for the action.
_SHOWN: Final = "_httpconflict_shown_versions"


class _ShownAt:
    """A row whose ``pk`` reads ``key@version``: what a page sends when it names the row."""

    def __init__(self, row: Any, version: object) -> None:
        self._row = row
        self.pk = f"{row.pk}{_AT}{version}"

    def __getattr__(self, name: str) -> Any:
        if name == "_row":  # not set yet (a copy): no row to ask
            raise AttributeError(name)
        return getattr(self._row, name)

    def __str__(self) -> str:
        return str(self._row)


def shown_at(row: Any, version_field: str) -> Any:
    """`row`, its ``pk`` carrying the version it is shown at."""
    return _ShownAt(row, getattr(row, version_field))


def take_versions(request: Any) -> None:
    """The request's selected keys without their versions; the versions kept for the action."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    shown: dict[str, int] = {}
    keys = []
    for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
        key, at, version = value.rpartition(_AT)
        if at and version.isascii() and version.isdigit():
            shown[key] = int(version)
            keys.append(key)
        else:
            keys.append(value)
    if shown:
        sent = request.POST.copy()
        sent.setlist(ACTION_CHECKBOX_NAME, keys)
        request.POST = sent
    setattr(request, _SHOWN, shown)


_Action = Callable[[Any, Any, Any], Any]


def delete_over_versions(delete: _Action) -> _Action:
    """Django's `delete` action, confirmed and done only over the versions its pages showed."""

    @functools.wraps(delete)
    def delete_selected(modeladmin: Any, request: Any, queryset: Any) -> Any:
        shown: dict[str, int] = getattr(request, _SHOWN, {})
        field = modeladmin.version_field
        if not request.POST.get("post"):  # the confirmation asked for
            rows = list(queryset)  # the rows the page lists, at the versions it carries
            changed = [
                (row, shown[str(row.pk)], getattr(row, field))
                for row in rows
                if shown.get(str(row.pk), getattr(row, field)) != getattr(row, field)
            ]
            if changed:
                return _refuse(modeladmin, request, changed)
            answer = delete(modeladmin, request, queryset)
            context = getattr(answer, "context_data", None)
            if context is not None and "queryset" in context:
                context["queryset"] = [shown_at(row, field) for row in rows]
            return answer
        return _held_for(delete, None, modeladmin, request, queryset)

    return delete_selected


def act_over_versions(action: _Action, description: str) -> _Action:
    """An `action` of the app's own (`description`: its name), done only over the versions shown.

    Its queryset's ``update()`` increments the version of the rows it writes.
    """

    @functools.wraps(action)
    def acted(modeladmin: Any, request: Any, queryset: Any) -> Any:
        versioning = queryset.all()
        versioning.__class__ = _versioning(type(queryset), modeladmin.version_field)
        return _held_for(action, description, modeladmin, request, versioning)

    return acted


def unversioned_action(action: _Action) -> _Action:
    """`action` marked to run on the selected keys whatever their versions (an export)."""
    setattr(action, _CHECKED, False)
    return action


def checks_versions(action: _Action) -> bool:
    """Whether `action` is done only over the versions shown (not `unversioned_action`)."""
    return bool(getattr(action, _CHECKED, True))


def _held_for(
    action: _Action, description: str | None, modeladmin: Any, request: Any, queryset: Any
) -> Any:
    """`action` run with the selected rows held at the versions shown; refused when one changed."""
    shown: dict[str, int] = getattr(request, _SHOWN, {})
    model = queryset.model
    alias = router.db_for_write(model)
    with transaction.atomic(using=alias):
        changed = _held(model._base_manager.using(alias), modeladmin.version_field, shown)
        if not changed:
            return action(modeladmin, request, queryset)
    return _refuse(modeladmin, request, changed, description)


#: `_versioning`'s classes, by the queryset class and the version field.
_VERSIONING: dict[tuple[type[Any], str], type[Any]] = {}


def _versioning(queryset_class: type[Any], field: str) -> type[Any]:
    """`queryset_class`, its ``update()`` also incrementing `field` (unless it sets it)."""
    found = _VERSIONING.get((queryset_class, field))
    if found is None:

        class Versioning(queryset_class):  # type: ignore[misc]
            def update(self, **values: Any) -> Any:
                values.setdefault(field, F(field) + 1)
                return super().update(**values)

        Versioning.__name__ = Versioning.__qualname__ = queryset_class.__name__
        found = _VERSIONING.setdefault((queryset_class, field), Versioning)
    return found


def _held(rows: Any, field: str, shown: dict[str, int]) -> list[tuple[Any, int, int]]:
    """Each of `shown`'s rows held at its version until the transaction ends, or those changed.

    One guarded UPDATE for the rows shown at one version. The rows it did
    not match are read again: saved since (returned, with the versions
    shown and stored), or deleted since (not returned).
    """
    by_version: dict[int, list[str]] = defaultdict(list)
    for key, version in shown.items():
        by_version[version].append(key)
    held = sum(
        rows.filter(pk__in=keys, **{field: version}).update(**{field: F(field)})
        for version, keys in by_version.items()
    )
    if held == len(shown):
        return []
    # Read past any snapshot: what is stored now, which the UPDATEs did not match.
    now = rows.filter(pk__in=list(shown)).select_for_update()
    return [
        (row, shown[str(row.pk)], getattr(row, field))
        for row in now
        if getattr(row, field) != shown[str(row.pk)]
    ]


def _refuse(
    modeladmin: Any,
    request: Any,
    changed: Iterable[tuple[Any, int, int]],
    description: str | None = None,
) -> None:
    """Nothing done: the user told which rows changed; None sends them to the list.

    `description`: the action's (None: "delete selected").
    """
    opts = modeladmin.model._meta
    by_key = sorted(changed, key=lambda found: found[0].pk)  # one order, whichever step
    rows = [(quoted(str(row)), opened, stored) for row, opened, stored in by_key]
    noun = str(opts.verbose_name if len(rows) == 1 else opts.verbose_name_plural)
    if description is None:
        message = stale_selection_message(noun, rows)
    else:
        message = stale_action_message(noun, rows, description)
    modeladmin.message_user(request, message, messages.ERROR)
