"""HTML forms that save only over what they showed: ModelForms, generic edit views, the admin.

    class NoteForm(VersionedFormMixin, forms.ModelForm): ...
    class NoteUpdate(VersionedEditViewMixin, UpdateView): ...
    class NoteAdmin(VersionedAdminMixin, admin.ModelAdmin): ...

The admin's actions, the app's own too, are done only over the versions
the list showed; `unversioned_action` marks one that runs whatever they
are (an export).

How the version is carried, checked and locked: _forms.py; the admin's
pages: _admin.py. The forms also carry an Idempotency-Key in a hidden
field (`FORM_KEY_FIELD`), which the middleware reads with
``IdempotencyPolicy(form_field=FORM_KEY_FIELD)``: a double-clicked Save
runs once.
"""

from ._admin import VersionedAdminMixin
from ._forms import FORM_KEY_FIELD, VersionedEditViewMixin, VersionedFormMixin, versioned_form
from ._selection import unversioned_action

__all__ = [
    "FORM_KEY_FIELD",
    "VersionedAdminMixin",
    "VersionedEditViewMixin",
    "VersionedFormMixin",
    "unversioned_action",
    "versioned_form",
]
