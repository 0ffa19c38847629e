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

The changelist renders only the key's input of a row's hidden fields:
the version's input is rendered after it (`_RowKey`).
"""

from __future__ import annotations

from typing import Any

from django.forms import BoundField
from django.utils.html import format_html

from ._forms import versioned_form

__all__ = ["changelist_form"]


class _RowForm:
    """A changelist row's form: checked only when edited; its fields carry the values shown."""

    check_unchanged = False
    form_key_field = None  # the page is one form: no key of its own for each row
    version_field: str
    fields: dict[str, Any]
    _meta: Any
    _bound_fields_cache: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != self.version_field:
                field.show_hidden_initial = True

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
