"""HTML forms that save only over what they showed: ModelForms, generic edit views, the admin.

    class NoteForm(VersionedFormMixin, forms.ModelForm): ...
    class NoteUpdate(VersionedEditViewMixin, UpdateView): ...
    class NoteAdmin(VersionedAdminMixin, admin.ModelAdmin): ...

Theory of operation: a browser's form cannot send If-Match, so the
version the form was opened on travels in the form, as a hidden field
(`VersionedFormMixin`), and comes back with the edit. Django's edit flow
validates the form, then saves it: two steps, and a second writer may
save between them. So the check is made in the form's ``clean()`` by a
guarded UPDATE that changes nothing,

    UPDATE note SET version = version WHERE id = %s AND version = %s

which matches the row only at the version the form was opened on, and
locks it (PostgreSQL, MySQL and MariaDB: the row; SQLite: the database's
write lock) until the transaction ends. ``save()`` then writes the
fields with version + 1 under that lock. Validation and save must
therefore run in ONE transaction: the admin's do (its change view is
atomic), `VersionedEditViewMixin` makes a generic view's so, and a form
validated outside any transaction refuses to check rather than check in
vain (``ImproperlyConfigured``).

- Stale (someone saved since the form was opened): the form is invalid and
  nothing is written, whatever it holds (two people who set the same
  value both meant to). The error names what is stored now where it
  differs from what was sent; the user's input stays in the form, and its
  hidden version moves to the stored one, so saving again after reading
  the error replaces the stored values knowingly. A stale form never wins
  silently. In the admin, a second error names its inline rows changed or
  added since (`_inline_differences`): saving again replaces those too.
- Deleted meanwhile: an error, nothing written.
- A constraint the form's own checks missed (two creates at once both pass
  ``validate_unique``'s SELECT; a constraint the form does not check): the
  ``IntegrityError`` rolls the transaction back and the view runs again
  once (`_run_refusing`), its form showing the violation on the field it
  names, with the user's input, instead of a 500. The wording is the
  core's (`IntegrityPolicy`), the field names the model's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.http import HttpResponseRedirect
from django.utils.safestring import mark_safe

from .._form_keys import new_form_key
from .._integrity import Violation
from .._integrity_policy import DEFAULT_POLICY
from ._problems import violation_of

__all__ = [
    "FORM_KEY_FIELD",
    "VersionedAdminMixin",
    "VersionedEditViewMixin",
    "VersionedFormMixin",
    "versioned_form",
]

#: The hidden field of a form's Idempotency-Key (`IdempotencyPolicy(form_field=...)`).
FORM_KEY_FIELD: Final = "idempotency_key"
#: Characters of a stored value the stale form's error quotes.
_QUOTED: Final = 60
#: Where a violation that rolled a view's transaction back waits for the view's second run.
_REFUSED: Final = "_httpconflict_refused"

_Answer = TypeVar("_Answer")


class VersionedFormMixin:
    """A ModelForm mixin: the form saves only over the version it was opened on.

    ``class NoteForm(VersionedFormMixin, forms.ModelForm)``. The model has
    an integer version column (`version_field`, ``"version"`` by default),
    which the form carries hidden and ``save()`` increments. Validate and
    save in one transaction (see the module).
    """

    version_field: str = "version"
    #: The hidden field that carries the form's Idempotency-Key, fresh on each render:
    #: the middleware's `IdempotencyPolicy(form_field=...)` reads it (None: no such field).
    form_key_field: str | None = FORM_KEY_FIELD
    #: A violation the view's first run raised, shown by its second (`_run_refusing`).
    refused: Violation | None = None
    #: The record as stored now, when the form was refused as stale (else None).
    stored_now: Any = None

    # The attributes of the ModelForm this mixes into.
    fields: dict[str, forms.Field]
    instance: Any
    initial: dict[str, Any]
    data: Any
    cleaned_data: dict[str, Any]
    _errors: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.version_field
        if not isinstance(self.fields.get(name), _VersionField):
            self.fields[name] = _VersionField()
        key = self.form_key_field
        if key is not None and not isinstance(self.fields.get(key), _FormKeyField):
            self.fields[key] = _FormKeyField()
        if key is not None and getattr(self, "is_bound", False):
            # The form shown again (refused) is a new page: a new key, or the same form sent
            # again unchanged from it (the duplicate removed meanwhile) would be answered
            # the refusal recorded. Without the script: history.replaceState would make the
            # browser's reload of a POST's answer a GET, not the POST sent again.
            self.data = self.data.copy()
            self.data[self.add_prefix(key)] = new_form_key()  # type: ignore[attr-defined]
            self.fields[key].widget = forms.HiddenInput()
        if not self._adding():
            self.initial[name] = getattr(self.instance, name)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        if not self._adding():
            self._hold_version(cleaned.get(self.version_field))
        return cleaned

    def validate_unique(self) -> None:
        super().validate_unique()  # type: ignore[misc]
        if self.refused is not None:
            self._show_refusal(self.refused)

    def save(self, commit: bool = True) -> Any:
        if not self._adding():
            opened = self.cleaned_data[self.version_field]
            setattr(self.instance, self.version_field, opened + 1)
        return super().save(commit)  # type: ignore[misc]

    def _adding(self) -> bool:
        return bool(self.instance._state.adding) or self.instance.pk is None

    def _hold_version(self, opened: int | None) -> None:
        """Lock the row at the version `opened`, or raise the stale form's error."""
        model = type(self.instance)
        alias = router.db_for_write(model, instance=self.instance)
        if not connections[alias].in_atomic_block:
            raise ImproperlyConfigured(
                f"{type(self).__name__} checks the version in clean() and writes it in "
                "save(): run both in one transaction.atomic() (the admin does; a generic "
                "view does with VersionedEditViewMixin, any view with ATOMIC_REQUESTS)"
            )
        rows = model._base_manager.using(alias).filter(pk=self.instance.pk)
        name = self.version_field
        if opened is not None and rows.filter(**{name: opened}).update(**{name: F(name)}):
            return  # held until the transaction ends
        # Stale, deleted or sent without its version: read what is stored, past any snapshot.
        current = rows.select_for_update().first()
        noun = model._meta.verbose_name
        if current is None:
            raise ValidationError(
                f"This {noun} was deleted after you opened it; nothing was saved.",
                code="deleted",
            )
        stored = getattr(current, name)
        self.stored_now = current
        # The next save goes over the version now stored: the user has been told.
        self.data = self.data.copy()
        self.data[self.add_prefix(name)] = str(stored)  # type: ignore[attr-defined]
        differences = self._differences(current)
        if opened is None:
            raise ValidationError(
                f"This form did not say which version of the {noun} it was opened on; "
                f"nothing was saved. {_review(differences)}",
                code="unversioned",
            )
        raise ValidationError(
            f"Someone else saved this {noun} after you opened it (version {opened}, now "
            f"{stored}); nothing was saved. {_review(differences)}",
            code="stale",
        )

    def _differences(self, current: Any) -> list[str]:
        """``field "stored value"`` for each field of the form whose value was sent otherwise."""
        found = []
        opts = type(current)._meta
        for name in self.fields:
            if name == self.version_field or name not in self.cleaned_data:
                continue
            try:
                field = opts.get_field(name)
            except FieldDoesNotExist:  # a form field of no model field
                continue
            sent = self.cleaned_data[name]
            if field.many_to_many:
                now = list(getattr(current, name).all())
                if {o.pk for o in now} != {o.pk for o in sent or ()}:
                    found.append(f"{field.verbose_name} {_quoted(', '.join(map(str, now)))}")
            elif field.is_relation:
                now = getattr(current, name)
                if getattr(now, "pk", None) != getattr(sent, "pk", None):
                    found.append(f"{field.verbose_name} {_quoted(str(now or ''))}")
            elif field.value_from_object(current) != sent:
                found.append(f"{field.verbose_name} {_quoted(str(getattr(current, name)))}")
        return found

    def _show_refusal(self, violation: Violation) -> None:
        """The violation as the error of the fields it names, unless they have one already."""
        opts = type(self.instance)._meta
        ours = violation.table in (None, opts.db_table)  # not an inline's row
        names = [
            f.name
            for f in opts.concrete_fields
            if ours and f.column in violation.columns and f.name in self.fields
        ]
        if any(name in self._errors for name in names):
            return  # the form's own check found it, on its second run
        if names:  # named as the form labels them
            labels = tuple(str(opts.get_field(name).verbose_name) for name in names)
            violation = violation.with_details(columns=labels)
        detail = DEFAULT_POLICY.problem(violation).detail
        self.add_error(names[0] if len(names) == 1 else None, detail)  # type: ignore[attr-defined]


class _VersionField(forms.IntegerField):  # type: ignore[misc]  # django-stubs are not installed
    """The version the form was opened on, hidden."""

    widget = forms.HiddenInput

    def __init__(self) -> None:
        super().__init__(required=False, min_value=0)


#: After the key's input: the page's key kept in ``history.state``, and put back when the
#: page is shown again by Back. The admin's pages may not be cached, so Back fetches them
#: again, with a new key, and restores what the user had typed: without the key it had,
#: the form sent again unchanged was another submission, which added a second row.
_KEEP_KEY: Final = (
    "<script>(function(i){var h=window.history,s=h.state,n='httpconflict:'+i.name;"
    "if(s&&typeof s==='object'&&typeof s[n]==='string'){i.value=s[n];return}"
    "var t=Object.assign({},s&&typeof s==='object'?s:{});t[n]=i.value;"
    "try{h.replaceState(t,'')}catch(e){}})(document.currentScript.previousElementSibling)"
    "</script>"
)


class _FormKeyInput(forms.HiddenInput):  # type: ignore[misc]  # django-stubs are not installed
    """The key's hidden input, and the script that keeps it for Back (`_KEEP_KEY`)."""

    def render(self, *args: Any, **kwargs: Any) -> Any:
        # A constant script after Django's own escaped input: nothing of the request in it.
        return mark_safe(str(super().render(*args, **kwargs)) + _KEEP_KEY)  # noqa: S308


class _FormKeyField(forms.CharField):  # type: ignore[misc]  # django-stubs are not installed
    """The form's Idempotency-Key, hidden: a new one each time a page renders the form."""

    widget = _FormKeyInput

    def __init__(self) -> None:
        super().__init__(required=False, initial=new_form_key)

    def has_changed(self, initial: Any, data: Any) -> bool:
        """Never: the key is new on each render, and no value of the record the user changed.

        Otherwise it is in each form's ``changed_data``: the admin's history said
        "Changed Note and idempotency_key." (and a save of nothing "Changed
        idempotency_key."), and a formset's blank extra form had changed.
        """
        return False


def versioned_form(
    form_class: type[Any],
    version_field: str = "version",
    form_key_field: str | None = FORM_KEY_FIELD,
) -> type[Any]:
    """`form_class` (a ModelForm class) made a `VersionedFormMixin` one, if it is not."""
    if issubclass(form_class, VersionedFormMixin):
        return form_class
    attrs: dict[str, Any] = {
        "version_field": version_field,
        "form_key_field": form_key_field,
        # Declared, so that the admin's fieldsets (made of the form's fields) hold it.
        version_field: _VersionField(),
        "__module__": form_class.__module__,
    }
    if form_key_field is not None:
        attrs[form_key_field] = _FormKeyField()
    return type(form_class.__name__, (VersionedFormMixin, form_class), attrs)


def _run_refusing(request: Any, model: Any, run: Callable[[], _Answer]) -> _Answer:
    """`run()` (a view's handling of a POST) in a transaction, run again once on a violation.

    The second run's forms (`VersionedFormMixin`, told by the request)
    show the violation as an error, with the user's input.
    """
    alias = router.db_for_write(model)
    try:
        with transaction.atomic(using=alias):
            return run()
    except IntegrityError as error:
        violation = violation_of(
            error, read_catalog=getattr(settings, "HTTPCONFLICT_CATALOG", True)
        )
        if violation is None or getattr(request, _REFUSED, None) is not None:
            raise
        setattr(request, _REFUSED, violation)
    with transaction.atomic(using=alias):
        return run()


def _refused_for(request: Any) -> Violation | None:
    """The violation a view's first run raised, for its second run's form."""
    found: Violation | None = getattr(request, _REFUSED, None)
    return found


class VersionedEditViewMixin:
    """For Django's generic ``UpdateView`` and ``CreateView``: `VersionedFormMixin` forms.

    ``class NoteUpdate(VersionedEditViewMixin, UpdateView)``. The POST is
    validated and saved in one transaction; a constraint violation the
    form's checks missed is shown on its field (`_run_refusing`).
    """

    version_field: str = "version"
    form_key_field: str | None = FORM_KEY_FIELD
    model: Any
    request: Any

    def get_form_class(self) -> type[Any]:
        found = super().get_form_class()  # type: ignore[misc]
        form_class = versioned_form(found, self.version_field, self.form_key_field)
        return _refusing(form_class, _refused_for(self.request))

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        view = super().post  # type: ignore[misc]
        model = self.model or self.get_form_class()._meta.model
        return _run_refusing(request, model, lambda: view(request, *args, **kwargs))


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
        """Django's checks, and a warning for ``list_editable``, whose rows carry no version."""
        found: list[Any] = super().check(**kwargs)  # type: ignore[misc]
        if self.list_editable:  # type: ignore[attr-defined]
            found.append(
                checks.Warning(
                    "list_editable saves the changelist's rows without their versions: "
                    "an edit there can overwrite a change saved since the page was opened",
                    hint="leave list_editable off, and edit in the change form",
                    obj=type(self),
                    id="httpconflict.W001",
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
        """The delete confirmation, for the version its page showed.

        The page's address carries the version (``?_version=3``: a GET
        without it is sent to the one with it), and its form posts back to
        it. Confirmed after someone else saved, nothing is deleted: the
        user is told, and sent to the confirmation of what is stored now.
        """
        from django.contrib.admin.utils import unquote  # the admin's own: only with the admin

        name = f"_{self.version_field}"
        rows = self.model._base_manager.filter(pk=unquote(object_id))
        opened = request.GET.get(name)
        if request.method == "GET" and opened is None:
            current = rows.values_list(self.version_field, flat=True).first()
            if current is not None:
                return HttpResponseRedirect(_with_query(request, name, str(current)))
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        alias = router.db_for_write(self.model)
        with transaction.atomic(using=alias):
            rows = rows.using(alias)
            field = self.version_field
            held = opened is not None and opened.isdigit()
            if held and rows.filter(**{field: int(opened or 0)}).update(**{field: F(field)}):
                return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
            stored = rows.values_list(field, flat=True).first()
            if stored is None:  # deleted meanwhile
                deleted = _deleted_by(request, self.model, unquote(object_id))
                if deleted is not None:  # by this user: their first click, or another tab
                    return self.response_delete(request, deleted, unquote(object_id))  # type: ignore[attr-defined]
                return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        noun = self.model._meta.verbose_name
        self.message_user(  # type: ignore[attr-defined]
            request,
            f"Someone else saved this {noun} after you opened this page (version {opened}, "
            f"now {stored}); nothing was deleted. What is deleted with it is listed again "
            "below: confirm again to delete it.",
            messages.ERROR,
        )
        return HttpResponseRedirect(_with_query(request, name, None))

    def render_change_form(self, request: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        """A stale form's page, which also names what is stored now in its inline rows."""
        form = context["adminform"].form
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


def _refusing(form_class: type[Any], violation: Violation | None) -> type[Any]:
    if violation is None:
        return form_class
    attrs = {"refused": violation, "__module__": form_class.__module__}
    return type(form_class.__name__, (form_class,), attrs)


def _review(differences: list[str]) -> str:
    if differences:
        return (
            f"Stored now: {'; '.join(differences)}. Your values are kept below: save again "
            "to replace the stored ones with them."
        )
    return "The fields below hold your values: save again to save them."


def _quoted(value: str) -> str:
    cut = value if len(value) <= _QUOTED else value[: _QUOTED - 3] + "..."
    return f"“{cut}”"
