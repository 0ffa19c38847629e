"""HTML forms that save only over what they showed: ModelForms and generic edit views.

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
  The admin's changelist rows (``list_editable``) are such forms, checked
  only when edited, the list saved whole or not at all (_changelist.py).
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
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils.safestring import mark_safe

from .._form_keys import new_form_key
from .._integrity import Violation
from .._integrity_policy import DEFAULT_POLICY
from .._stale_forms import (
    KEEP_FORM_KEY,
    deleted_form_message,
    difference,
    stale_form_message,
    unversioned_form_message,
)
from ._problems import violation_of

__all__ = [
    "FORM_KEY_FIELD",
    "VersionedEditViewMixin",
    "VersionedFormMixin",
    "form_key_input",
    "versioned_form",
]

#: The hidden field of a form's Idempotency-Key (`IdempotencyPolicy(form_field=...)`).
FORM_KEY_FIELD: Final = "idempotency_key"
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
    #: False: a form whose values are those it was shown with is neither checked nor refused
    #: (a changelist's row the user left alone, `changelist_form`).
    check_unchanged: bool = True

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
        if not self._adding() and self._checked():
            self._hold_version(cleaned.get(self.version_field))
        return cleaned

    def validate_unique(self) -> None:
        super().validate_unique()  # type: ignore[misc]
        if self.refused is not None and self._checked():
            self._show_refusal(self.refused)

    def save(self, commit: bool = True) -> Any:
        if not self._adding():
            opened = self.cleaned_data[self.version_field]
            setattr(self.instance, self.version_field, opened + 1)
        return super().save(commit)  # type: ignore[misc]

    def _adding(self) -> bool:
        return bool(self.instance._state.adding) or self.instance.pk is None

    def _checked(self) -> bool:
        return self.check_unchanged or bool(self.has_changed())  # type: ignore[attr-defined]

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
            raise ValidationError(deleted_form_message(str(noun)), code="deleted")
        stored = getattr(current, name)
        self.stored_now = current
        # The next save goes over the version now stored: the user has been told.
        self.data = self.data.copy()
        self.data[self.add_prefix(name)] = str(stored)  # type: ignore[attr-defined]
        differences = self._differences(current)
        if opened is None:
            raise ValidationError(
                unversioned_form_message(str(noun), differences), code="unversioned"
            )
        raise ValidationError(
            stale_form_message(str(noun), opened, stored, differences), code="stale"
        )

    def _differences(self, current: Any) -> list[str]:
        """``field "stored value"`` for each field of the form whose value was sent otherwise."""
        found = []
        opts = type(current)._meta
        for name in self.fields:
            if name in (self.version_field, opts.pk.name) or name not in self.cleaned_data:
                continue  # the pk: a changelist row's form holds it, as the record
            try:
                field = opts.get_field(name)
            except FieldDoesNotExist:  # a form field of no model field
                continue
            sent = self.cleaned_data[name]
            if field.many_to_many:
                now = list(getattr(current, name).all())
                if {o.pk for o in now} != {o.pk for o in sent or ()}:
                    found.append(difference(str(field.verbose_name), ", ".join(map(str, now))))
            elif field.is_relation:
                now = getattr(current, name)
                if getattr(now, "pk", None) != getattr(sent, "pk", None):
                    found.append(difference(str(field.verbose_name), str(now or "")))
            elif field.value_from_object(current) != sent:
                found.append(difference(str(field.verbose_name), str(getattr(current, name))))
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

    def has_changed(self, initial: Any, data: Any) -> bool:
        """Never: a version that moved is someone else's save, not the user's edit.

        Else a changelist row someone else saved meanwhile was edited, and saved
        (or refused) though the user left it alone.
        """
        return False


class _FormKeyInput(forms.HiddenInput):  # type: ignore[misc]  # django-stubs are not installed
    """The key's hidden input, and the script that keeps it for Back (`KEEP_FORM_KEY`)."""

    def render(self, *args: Any, **kwargs: Any) -> Any:
        # A constant script after Django's own escaped input: nothing of the request in it.
        return mark_safe(str(super().render(*args, **kwargs)) + KEEP_FORM_KEY)  # noqa: S308


def form_key_input(name: str, value: str) -> Any:
    """The hidden input of a form key named `name`, and its script (safe HTML)."""
    return _FormKeyInput().render(name, value)


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


def _refusing(form_class: type[Any], violation: Violation | None) -> type[Any]:
    if violation is None:
        return form_class
    attrs = {"refused": violation, "__module__": form_class.__module__}
    return type(form_class.__name__, (form_class,), attrs)
