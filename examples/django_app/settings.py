"""Settings: one app, no auth, every error as application/problem+json.

The database is EXAMPLE_DJANGO_DB: a SQLite file (the default), or a
``postgresql://`` or ``mysql://`` URL (MySQL and MariaDB), as SQLAlchemy
writes it (a ``+driver`` is ignored; PostgreSQL's ``options`` query
parameter is passed on, such as ``-csearch_path=...``).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


def database(db: str) -> dict[str, Any]:
    """Django's settings for a SQLite file, or a PostgreSQL or MySQL URL."""
    parts = urlsplit(db)
    scheme = parts.scheme.split("+")[0]
    if scheme not in ("postgresql", "mysql"):
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": db,
            "OPTIONS": {
                # Readers do not block the writer, and a transaction takes the
                # write lock when it begins, so it waits instead of failing later.
                "init_command": "PRAGMA journal_mode=WAL",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": f"django.db.backends.{scheme}",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": options if scheme == "postgresql" else {},
    }


SECRET_KEY = "example-only"  # noqa: S105  # nothing here signs or encrypts
DEBUG = False
ALLOWED_HOSTS = ["*"]  # it answers whatever name reaches the --host it binds
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS = ["examples.django_app"]
# First, so that it sees (and answers as problems) every error below it.
MIDDLEWARE = ["httpconflict.django.ProblemMiddleware"]
DATABASES = {"default": database(os.environ.get("EXAMPLE_DJANGO_DB", "example-django.db"))}
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
