"""The hidden fields of a versioned WTForms form: its version, and its Idempotency-Key.

`VersionField` carries the version the form was opened on: filled from
the row (``NoteForm(request.form, obj=note)``) when the page renders
(an empty form, ``request.form`` on a GET, is no submission), and from
the submitted form alone when it comes back. A submission without it, or
with a value no page made, has no version (None), never the row's current
one: WTForms keeps a field's object data when the form data lacks it, and
that would make a form sent without its version save over whatever is
stored, the lost update this field exists to prevent.

`FormKeyField` carries the form's Idempotency-Key, which the WSGI
middleware reads with ``IdempotencyPolicy(form_field="idempotency_key")``:
a new one each time the form renders, the form shown again after a
refusal too (the same form sent again unchanged from that page, after the
duplicate it was refused for was removed, would otherwise be answered the
refusal recorded), followed by the script that keeps it for Back.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

from markupsafe import Markup
from wtforms import Field
from wtforms.utils import unset_value
from wtforms.widgets import HiddenInput

from .._form_keys import new_form_key
from .._stale_forms import KEEP_FORM_KEY

__all__ = ["FORM_KEY_FIELD", "FormKeyField", "VersionField", "VersionedFormMixin"]

#: The hidden field of a form's Idempotency-Key (`IdempotencyPolicy(form_field=...)`).
FORM_KEY_FIELD: Final = "idempotency_key"
#: A version a page renders: a decimal integer (18 digits fit any integer column).
_VERSION: Final = re.compile(r"[0-9]{1,18}")


class VersionField(Field):  # type: ignore[misc]  # WTForms has no type hints
    """The version the form was opened on, hidden; None when the submission names none."""

    widget = HiddenInput()

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        # ``NoteForm(request.form, obj=note)`` on a GET: an empty form is no submission
        # (Flask-WTF's FlaskForm passes None then), and the page renders the row's version.
        super().process(formdata or None, data, extra_filters)

    def process_formdata(self, valuelist: list[str]) -> None:
        # Only what was sent: a missing or mangled version is no version (see the module).
        value = valuelist[0].strip() if valuelist else ""
        self.data = int(value) if _VERSION.fullmatch(value) else None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)

    def populate_obj(self, obj: Any, name: str) -> None:
        """Nothing: the version is the save's guard, and the save sets the next one."""

    def move_to(self, version: int) -> None:
        """Render `version` from now on: the one the user was shown stored."""
        self.data = version
        self.raw_data = None


class _FormKeyInput(HiddenInput):  # type: ignore[misc]  # WTForms has no type hints
    """The key's hidden input, and the script that keeps it for Back (`KEEP_FORM_KEY`)."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        # A constant script after WTForms' own escaped input: nothing of the request in it.
        return Markup(str(super().__call__(field, **kwargs)) + KEEP_FORM_KEY)  # noqa: S704


class FormKeyField(Field):  # type: ignore[misc]  # WTForms has no type hints
    """The form's Idempotency-Key, hidden: a new one each time the form is made and rendered."""

    widget = _FormKeyInput()

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        # Never the submitted key, nor a row's: the form shown again is a new page.
        self.process_errors: list[str] = []
        self.raw_data = None
        self.object_data = None
        self.data = new_form_key()

    def _value(self) -> str:
        return str(self.data)

    def populate_obj(self, obj: Any, name: str) -> None:
        """Nothing: the key is the request's, not the record's."""


class VersionedFormMixin:
    """A WTForms form (Flask-WTF's ``FlaskForm`` too) that saves only over what it showed.

    ``class NoteForm(VersionedFormMixin, FlaskForm)``, made with the row
    (``NoteForm(obj=note)``) and saved with `save_form`. The row's model
    has an integer version column, ``version`` (another name: set
    `version_field` and declare ``<name> = VersionField()``).
    """

    #: The form's `VersionField`, named as the row's version column.
    version_field: ClassVar[str] = "version"
    #: What the stale form's message calls the record (None: from the model's class name).
    noun: ClassVar[str | None] = None
    version = VersionField()
    idempotency_key = FormKeyField()
