"""The admin's changelist edited in the list (``list_editable``): each row over its version.

Theory of operation: Django's changelist is one formset of the page's
rows. Its POST makes a form of each row read now, validates them all,
then saves the rows whose form changed; one invalid form and nothing is
saved, the list shown again with each form's errors above its row. Each
row's form here is a `VersionedFormMixin` form (`changelist_form`): it
carries the version its row was read at, and its ``clean()`` holds the
row at that version with the guarded UPDATE that changes nothing, so a
row saved by someone else since is an invalid form, and the whole list is
refused. `VersionedAdminMixin.changelist_view` runs the POST in one
transaction: the rows stay held from validation to save, and a save that
fails after others were written (a constraint the forms did not check)
rolls them all back.

Only the rows the user edited are checked and saved: each editable field
also carries the value the page showed (Django's ``show_hidden_initial``),
and a row is edited when a value sent differs from the one shown. Django's
own changelist compares with the values stored now, so a row someone else
saved meanwhile, left alone here, was written back with the old values
the page still held.

The refused list is shown with its rows as the page that sent it had
them (`rows_as_sent`). A row deleted since the page was opened is left out of the save when
the user left it alone; edited, it refuses the list and says so (Django
refused the list with an error on the row's hidden key, which the list
does not show).

The changelist renders only the key's input of a row's hidden fields:
the version's input is rendered after it (`_RowKey`).

The list is one form, with one Idempotency-Key (`keyed_formset`): the
rows' forms carry none, and the page renders its key's hidden input after
the formset's management form, fresh each render. A double-clicked Save
is then the first's duplicate, answered the first's redirect; without it,
the second was refused as stale ("Someone else saved this counter"), the
user's own first save being that someone.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.forms import BoundField
from django.forms.utils import ErrorDict
from django.utils.html import format_html

from .._form_keys import new_form_key
from .._stale_forms import deleted_form_message
from ._forms import _FormKeyField, _FormKeyInput, form_key_input, versioned_form

__all__ = ["changelist_form", "keyed_actions", "keyed_formset", "rows_as_sent"]

#: After the message of an edited row deleted since: what lets the list's other rows be saved.
_GONE: Final = "Put back its values as shown, or open the list again, to save the other rows."


class _RowForm:
    """A changelist row's form: checked only when edited; its fields carry the values shown."""

    check_unchanged = False
    form_key_field = None  # the page is one form: no key of its own for each row
    version_field: str
    fields: dict[str, Any]
    changed_data: list[str]
    instance: Any
    is_bound: bool
    _errors: Any
    _meta: Any
    _bound_fields_cache: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != self.version_field:
                field.show_hidden_initial = True

    def has_changed(self) -> bool:
        """Whether the user edited the row (of a row gone since, its key's input does not count)."""
        key = self._meta.model._meta.pk.name
        return any(name != key for name in self.changed_data)

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        if self.is_bound and self.instance._state.adding:  # its row is gone since the page
            # Not "Select a valid choice" on the key's hidden input, which the list does not
            # show: left alone, the row stops nothing; edited, it says why nothing was saved.
            self._errors = ErrorDict()
            if self.has_changed():
                noun = str(self._meta.model._meta.verbose_name)
                message = f"{deleted_form_message(noun)} {_GONE}"
                self.add_error(None, ValidationError(message, code="deleted"))  # type: ignore[attr-defined]

    def __getitem__(self, name: str) -> Any:
        found = super().__getitem__(name)  # type: ignore[misc]
        if name == self._meta.model._meta.pk.name and not isinstance(found, _RowKey):
            found = self._bound_fields_cache[name] = _RowKey(self, found.field, name)
        return found


class _RowKey(BoundField):  # type: ignore[misc]  # django-stubs are not installed
    """A row's key input, and after it the version the row's form was opened on."""

    def __str__(self) -> str:
        return str(format_html("{}{}", super().__str__(), self.form[self.form.version_field]))

    __html__ = __str__


def changelist_form(form_class: type[Any], version_field: str) -> type[Any]:
    """`form_class` (a changelist's ModelForm class) made a versioned row's form."""
    versioned = versioned_form(form_class, version_field, None)
    attrs = {"version_field": version_field, "__module__": form_class.__module__}
    return type(form_class.__name__, (_RowForm, versioned), attrs)


class _KeyedFormSet:
    """A changelist's formset whose management form is followed by the page's form key."""

    form_key_field: str

    @cached_property
    def management_form(self) -> Any:
        return _WithFormKey(super().management_form, self.form_key_field)  # type: ignore[misc]


class _WithFormKey:
    """A formset's management form, rendered with a new form key's hidden input after it."""

    def __init__(self, form: Any, name: str) -> None:
        self._form = form
        self._name = name

    def __getattr__(self, name: str) -> Any:
        if name == "_form":  # not set yet (a copy): no form to ask
            raise AttributeError(name)
        return getattr(self._form, name)

    def __str__(self) -> str:
        return str(format_html("{}{}", self._form, form_key_input(self._name, new_form_key())))

    __html__ = __str__


def keyed_formset(formset_class: type[Any], form_key_field: str | None) -> type[Any]:
    """`formset_class` (a changelist's), its page carrying a form key (None: unchanged)."""
    if form_key_field is None:
        return formset_class
    attrs = {"form_key_field": form_key_field, "__module__": formset_class.__module__}
    return type(formset_class.__name__, (_KeyedFormSet, formset_class), attrs)


class _OnceFormKeyField(_FormKeyField):
    """A form key of the action bar: rendered once (a page may show the bar twice)."""

    def __init__(self) -> None:
        super().__init__()
        self.label = ""  # the bar labels its fields that have one
        self.widget = _OnceInput()


class _OnceInput(_FormKeyInput):
    """The key's input, then nothing: two inputs of one key are refused (given twice)."""

    rendered = False

    def render(self, *args: Any, **kwargs: Any) -> Any:
        if self.rendered:
            return ""
        self.rendered = True
        return super().render(*args, **kwargs)


def keyed_actions(answer: Any, form_key_field: str | None) -> Any:
    """`answer` (a changelist), its action bar carrying a form key when its list has none.

    A list without ``list_editable`` has no formset, so no key: a
    double-clicked Go ran the action twice.
    """
    context = getattr(answer, "context_data", None) or {}
    bar = context.get("action_form")
    cl: Any = context.get("cl")
    if form_key_field is None or bar is None or getattr(cl, "formset", None) is not None:
        return answer
    bar.fields[form_key_field] = _OnceFormKeyField()
    return answer


def rows_as_sent(answer: Any) -> Any:
    """`answer` (the changelist's), its refused list's rows in the order of the forms sent.

    Django pairs the rows of the list as read now with the forms as sent:
    a row added, deleted or moved since the page was opened shifted each
    form (its inputs, its error) onto another row's link and checkbox, and
    the forms past the list's end were not rendered.
    """
    context = getattr(answer, "context_data", None) or {}
    found: Any = context.get("cl")
    formset = getattr(found, "formset", None)
    if formset is None or not formset.is_bound:
        return answer
    key = formset.model._meta.pk.name
    rows = []
    for form in formset.forms:
        row = form.instance
        if row.pk is None:  # gone since: shown as the page showed it
            row.pk = form[key].value()
        rows.append(row)
    found.result_list = rows
    return answer
