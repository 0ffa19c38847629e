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
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Final

from django.contrib import messages
from django.db import router, transaction
from django.db.models import F

from .._stale_forms import quoted, stale_selection_message

__all__ = ["delete_over_versions", "shown_at", "take_versions"]

#: Between a key and the version its page showed it at, in a selected row's value.
_AT: Final = "@"
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
        model = queryset.model
        alias = router.db_for_write(model)
        with transaction.atomic(using=alias):
            stored = model._base_manager.using(alias)
            changed = _held(stored, field, shown)
            if not changed:
                return delete(modeladmin, request, queryset)
        return _refuse(modeladmin, request, changed)

    return delete_selected


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


def _refuse(modeladmin: Any, request: Any, changed: Iterable[tuple[Any, int, int]]) -> None:
    """Nothing deleted: the user told which rows changed; None sends them to the list."""
    opts = modeladmin.model._meta
    by_key = sorted(changed, key=lambda found: found[0].pk)  # one order, whichever step
    rows = [(quoted(str(row)), opened, stored) for row, opened, stored in by_key]
    noun = opts.verbose_name if len(rows) == 1 else opts.verbose_name_plural
    message = stale_selection_message(str(noun), rows)
    modeladmin.message_user(request, message, messages.ERROR)
