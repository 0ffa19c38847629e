"""The test project's models as an installed app (label ``notes``), so relations resolve both ways.

tests/adapters/django_notes.py defines the models under ``app_label =
"notes"`` after `django.setup()`; only an installed app's models take part
in Django's relation tree, which a many-to-many field's reverse lookups need.
"""

from __future__ import annotations

from django.apps import AppConfig


class NotesConfig(AppConfig):  # type: ignore[misc]
    name = "tests.adapters"
    label = "notes"
    default_auto_field = "django.db.models.AutoField"
