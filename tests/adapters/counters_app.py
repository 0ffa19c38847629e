"""The admin test project's models as an installed app (label ``counters``).

The admin lists the models of installed apps only.
"""

from __future__ import annotations

from django.apps import AppConfig


class CountersConfig(AppConfig):  # type: ignore[misc]
    name = "tests.adapters"
    label = "counters"
    default_auto_field = "django.db.models.AutoField"
