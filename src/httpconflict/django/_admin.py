"""The admin's forms, pages and delete confirmation, on `VersionedFormMixin` forms (_forms.py).

`VersionedAdminMixin` gives a ``ModelAdmin`` the versioned forms, with
the version field in the admin's fieldsets (a page renders only those),
the violation shown by the change view's second run, the version carried
by the delete confirmation's address, the inline rows stored now named
on a stale page, the changelist's rows (``list_editable``, _changelist.py)
saved over the versions they showed, all or none, under the list's form
key, the "delete selected" action done only over the versions its pages
showed (_selection.py), and a check
(``httpconflict.E001``) of a model without the version field.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import router, transaction
from django.db.models import F
from django.http import HttpResponseRedirect

from .._stale_forms import difference, stale_delete_message
from .._stale_forms import quoted as _quoted
from ._changelist import changelist_form, keyed_actions, keyed_formset, rows_as_sent
from ._forms import (
    FORM_KEY_FIELD,
    _refused_for,
    _refusing,
    _run_refusing,
    versioned_form,
)
from ._selection import (
    act_over_versions,
    checks_versions,
    delete_over_versions,
    shown_at,
    take_versions,
)

__all__ = ["VersionedAdminMixin"]


class VersionedAdminMixin:
    """For a ``ModelAdmin``: its change form saves only over the version it showed.

    ``class NoteAdmin(VersionedAdminMixin, admin.ModelAdmin)``. A stale
    save is the change form again with the error and the user's input; a
    constraint violation the form's checks missed is shown on its field.
    """

    version_field: str = "version"
    form_key_field: str | None = FORM_KEY_FIELD
    model: Any

    def check(self, **kwargs: Any) -> list[Any]:
        """Django's checks, and an error for a model without the version field."""
        found: list[Any] = super().check(**kwargs)  # type: ignore[misc]
        try:
            self.model._meta.get_field(self.version_field)
        except FieldDoesNotExist:
            found.append(
                checks.Error(
                    f"{self.model.__name__} has no field {self.version_field!r}: the versioned "
                    "admin checks and increments it on each save",
                    hint="add an integer version field, or name yours in version_field",
                    obj=type(self),
                    id="httpconflict.E001",
                )
            )
        return found

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        # The form declares the version field itself: a model's version column is
        # often not editable, and a form's fields may not name one that is not.
        if "fields" not in kwargs:
            kwargs["fields"] = _flattened(self.get_fieldsets(request, obj))
        if kwargs["fields"] is not None:
            ours = (self.version_field, self.form_key_field)
            kwargs["fields"] = [f for f in kwargs["fields"] if f not in ours]
        form_class = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        versioned = versioned_form(form_class, self.version_field, self.form_key_field)
        return _refusing(versioned, _refused_for(request))

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        """Not the version field: shown read-only, its hidden input would not be on the page."""
        found = super().get_readonly_fields(request, obj)  # type: ignore[misc]
        return [name for name in found if name not in (self.version_field, self.form_key_field)]

    def get_fieldsets(self, request: Any, obj: Any = None) -> Any:
        """The admin's fieldsets, the version field in the first: a page renders only those."""
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        shown = _flattened(fieldsets)
        missing = [f for f in (self.version_field, self.form_key_field) if f and f not in shown]
        if fieldsets and missing:
            name, options = fieldsets[0]
            fieldsets[0] = (name, {**options, "fields": [*options.get("fields", ()), *missing]})
        return fieldsets

    def delete_view(self, request: Any, object_id: str, extra_context: Any = None) -> Any:
        """The delete confirmation, for the version the page the user came from showed.

        The page's address carries the version (``?_version=3``): the
        change form's Delete link puts the version the form showed there
        (`render_change_form`); a GET without it is sent to the one with
        the version stored now. Asked for, or confirmed, after someone else
        saved, nothing is deleted: the user is told what is stored now, and
        sent to the confirmation of that.
        """
        from django.contrib.admin.utils import unquote  # the admin's own: only with the admin

        name = f"_{self.version_field}"
        rows = self.model._base_manager.filter(pk=unquote(object_id))
        opened = request.GET.get(name)
        if request.method == "GET":
            # As Django's view reads it: a row this user's list does not hold is not found.
            row = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
            if row is None or not self.has_delete_permission(request, row):  # type: ignore[attr-defined]
                return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
            current = getattr(row, self.version_field)
            if opened is None:
                return HttpResponseRedirect(_with_query(request, name, str(current)))
            if opened != str(current):
                return self._stale_delete(request, row, opened, "it")
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        alias = router.db_for_write(self.model)
        with transaction.atomic(using=alias):
            rows = rows.using(alias)
            field = self.version_field
            held = opened is not None and opened.isdigit()
            if held and rows.filter(**{field: int(opened or 0)}).update(**{field: F(field)}):
                return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
            row = rows.first()
            if row is None:  # deleted meanwhile
                deleted = _deleted_by(request, self.model, unquote(object_id))
                if deleted is not None:  # by this user: their first click, or another tab
                    return self.response_delete(request, deleted, unquote(object_id))  # type: ignore[attr-defined]
                return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        row = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if row is None or not self.has_delete_permission(request, row):  # type: ignore[attr-defined]
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        return self._stale_delete(request, row, opened, "this page")

    def _stale_delete(self, request: Any, row: Any, opened: str | None, seen: str) -> Any:
        """Nothing deleted: the user told what is stored now, sent to its confirmation.

        Only to a user who may delete `row` (Django's view asks the same before its page).
        """
        stored = getattr(row, self.version_field)
        differences = []
        for name in _flattened(self.get_fieldsets(request, row)):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:  # a form field of no model field
                continue
            if name not in (self.version_field, self.form_key_field):
                differences.append(difference(str(field.verbose_name), _shown(row, field)))
        noun = str(self.model._meta.verbose_name)
        message = stale_delete_message(noun, seen, opened, stored, differences)
        self.message_user(request, message, messages.ERROR)  # type: ignore[attr-defined]
        return HttpResponseRedirect(_with_query(request, f"_{self.version_field}", str(stored)))

    def render_change_form(self, request: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        """A change form's page: its Delete link carries the version the form shows.

        A stale form's page also names what is stored now in its inline rows.
        """
        form = context["adminform"].form
        context["preserved_filters"] = self._delete_link_filters(request, context, form, kwargs)
        if getattr(form, "stored_now", None) is not None:
            found = [
                difference
                for inline in context.get("inline_admin_formsets", ())
                for difference in _inline_differences(inline.formset)
            ]
            if found:
                form.add_error(
                    None,
                    ValidationError(
                        f"Stored now in the rows below: {'; '.join(found)}. Saving again "
                        "replaces them with the rows as shown.",
                        code="stale_rows",
                    ),
                )
        return super().render_change_form(request, context, *args, **kwargs)  # type: ignore[misc]

    def _delete_link_filters(self, request: Any, context: Any, form: Any, kwargs: Any) -> str:
        """The page's preserved filters, with the version its form shows for the Delete link.

        The admin's templates add them to the Delete link, to the History
        link (which reads no version), and to Close, which leads to the
        changelist (`changelist_view` reads no version either). A page read-only
        to its user (view and delete permission, not change) shows the row as
        read: its Delete link carries that version too, or the confirmation
        would be of what is stored when it is clicked, saves since included.
        """
        found: str = context.get("preserved_filters") or ""
        obj = kwargs.get("obj")
        if not kwargs.get("change") or obj is None:
            return found
        if self.version_field in form.fields:
            version = form[self.version_field].value()
        else:  # a form without it (get_form overridden): the page shows the row as read
            version = getattr(obj, self.version_field, None)
        if version is None or str(version) == "":
            return found
        pairs = [(k, v) for k, v in parse_qsl(found) if k != f"_{self.version_field}"]
        return urlencode([*pairs, (f"_{self.version_field}", str(version))])

    def get_changelist_form(self, request: Any, **kwargs: Any) -> Any:
        """The form of a changelist's row (``list_editable``): saved over the version it showed."""
        form_class = super().get_changelist_form(request, **kwargs)  # type: ignore[misc]
        return _refusing(changelist_form(form_class, self.version_field), _refused_for(request))

    def get_changelist_formset(self, request: Any, **kwargs: Any) -> Any:
        """The changelist's formset; its page carries the list's form key."""
        formset = super().get_changelist_formset(request, **kwargs)  # type: ignore[misc]
        return keyed_formset(formset, self.form_key_field)

    def action_checkbox(self, obj: Any) -> Any:
        """A row's checkbox, its value the row's key and the version shown (``7@3``)."""
        return super().action_checkbox(shown_at(obj, self.version_field))  # type: ignore[misc]

    def get_actions(self, request: Any) -> Any:
        """The admin's actions, done only over the versions shown (not `unversioned_action`'s).

        "Delete selected" as _selection.py says; the app's own actions in one
        transaction with the rows held, their queryset's ``update()`` moving
        the version.
        """
        from django.contrib.admin.utils import model_format_dict

        actions = super().get_actions(request)  # type: ignore[misc]
        for name, (func, _, description) in list(actions.items()):
            if name == "delete_selected":
                actions[name] = (delete_over_versions(func), name, description)
            elif checks_versions(func):
                shown = str(description) % model_format_dict(self.model._meta)
                actions[name] = (act_over_versions(func, shown), name, description)
        return actions

    def response_action(self, request: Any, queryset: Any) -> Any:
        """The action chosen, on the selected rows' keys; their versions kept for it."""
        take_versions(request)
        return super().response_action(request, queryset)  # type: ignore[misc]

    def changelist_view(self, request: Any, extra_context: Any = None) -> Any:
        """The changelist; its rows' save (``list_editable``) in one transaction, all or none.

        Its page carries a form key: the list's (``list_editable``), else the action bar's.
        """
        view = super().changelist_view  # type: ignore[misc]
        name = f"_{self.version_field}"
        if name in request.GET:
            # A read-only change view's Close link: its filters are its Delete link's.
            request.GET = request.GET.copy()
            del request.GET[name]
        if request.method != "POST" or "_save" not in request.POST:
            return keyed_actions(view(request, extra_context), self.form_key_field)
        answer = _run_refusing(request, self.model, lambda: view(request, extra_context))
        return rows_as_sent(answer)

    def changeform_view(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        view = super().changeform_view  # type: ignore[misc]
        if request.method != "POST":
            return view(request, *args, **kwargs)
        return _run_refusing(request, self.model, lambda: view(request, *args, **kwargs))


def _deleted_by(request: Any, model: Any, pk: str) -> str | None:
    """How the admin's log names the record `pk` if this request's user deleted it, else None.

    A double-clicked "Yes, I'm sure": the second click finds the record gone,
    and the admin said "Counter with ID “7” doesn't exist. Perhaps it was
    deleted?" for the user's own delete. Who deleted it is read from the
    admin's log, which records each delete in the delete's transaction.
    """
    from django.contrib.admin.models import DELETION, LogEntry
    from django.contrib.admin.options import get_content_type_for_model

    user = getattr(request, "user", None)
    if user is None or user.pk is None:
        return None
    entry = (
        LogEntry.objects.filter(
            content_type=get_content_type_for_model(model),
            object_id=str(pk),
            action_flag=DELETION,
        )
        .order_by("-action_time", "-pk")
        .first()
    )
    if entry is None or entry.user_id != user.pk:
        return None
    return str(entry.object_repr)


def _with_query(request: Any, name: str, value: str | None) -> str:
    """The request's path and query, with `name` set to `value` (None: without it)."""
    query = request.GET.copy()
    query.pop(name, None)
    if value is not None:
        query[name] = value
    return f"{request.path}?{query.urlencode()}" if query else str(request.path)


def _flattened(fieldsets: Any) -> list[str]:
    """The field names of admin fieldsets (a line of a fieldset may be a tuple of names)."""
    names: list[str] = []
    for _, options in fieldsets:
        for line in options.get("fields", ()):
            names.extend(line if isinstance(line, list | tuple) else [line])
    return names


def _inline_differences(formset: Any) -> list[str]:
    """What an inline formset's rows hold now where the form sent otherwise, and rows added since.

    A bound inline form's initial values are its row as read in this request:
    its ``changed_data`` is where the user's values differ from those. The
    rows are read again to be shown: validation has put the values sent on
    the forms' instances.
    """
    opts = formset.model._meta
    fk = getattr(formset, "fk", None)
    skipped = {opts.pk.name, getattr(fk, "name", None)}
    forms = {f.instance.pk: f for f in formset.initial_forms if f.instance.pk is not None}
    rows = formset.model._base_manager.using(formset.instance._state.db)
    found = []
    stored = rows.in_bulk(list(forms))
    for pk, form in forms.items():
        row = stored.get(pk)
        if row is None:  # deleted since: its form says so
            continue
        for name in form.changed_data:
            try:
                field = opts.get_field(name)
            except FieldDoesNotExist:  # DELETE, ORDER, a form field of no model field
                continue
            if name not in skipped:
                found.append(
                    f"{opts.verbose_name} {_quoted(str(row))}: {field.verbose_name} "
                    f"{_quoted(_shown(row, field))}"
                )
    if fk is not None and formset.instance.pk is not None:
        added = rows.filter(**{fk.name: formset.instance}).exclude(pk__in=list(forms))
        found.extend(f"{opts.verbose_name} {_quoted(str(row))} added" for row in added)
    return found


def _shown(row: Any, field: Any) -> str:
    """The value of `row`'s `field` as a person reads it."""
    if field.many_to_many:
        return ", ".join(map(str, getattr(row, field.name).all()))
    if field.is_relation:
        return str(getattr(row, field.name) or "")
    return str(getattr(row, field.name))
