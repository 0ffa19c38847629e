"""Settings: one app, no auth, SQLite, every error as application/problem+json."""

from __future__ import annotations

import os

SECRET_KEY = "example-only"  # noqa: S105  # nothing here signs or encrypts
DEBUG = False
ALLOWED_HOSTS = ["*"]  # it answers whatever name reaches the --host it binds
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS = ["examples.django_app"]
# First, so that it sees (and answers as problems) every error below it.
MIDDLEWARE = ["httpconflict.django.ProblemMiddleware"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DJANGO_DB", "example-django.db"),
        "OPTIONS": {
            # Readers do not block the writer, and a transaction takes the
            # write lock when it begins, so it waits instead of failing later.
            "init_command": "PRAGMA journal_mode=WAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "httpconflict.django.rest_framework.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["httpconflict.django.rest_framework.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
