"""The DATABASES entry of the Django test projects, from one URL, and a small project's settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit


def database(url: str, *, immediate: bool = False) -> dict[str, Any]:
    """Django's DATABASES entry for a SQLite file, a postgresql:// or a mysql:// URL.

    `immediate`: SQLite transactions take the write lock as they begin
    (Django 5.1's ``transaction_mode``), as docs/django.md recommends for forms.
    """
    if not url.startswith(("postgresql://", "mysql://")):
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url,
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL",
                "timeout": 30,
                **({"transaction_mode": "IMMEDIATE"} if immediate else {}),
            },
        }
    parts = urlsplit(url)
    options = {name: values[0] for name, values in parse_qs(parts.query).items()}
    engine = "postgresql" if parts.scheme == "postgresql" else "mysql"
    return {
        "ENGINE": f"django.db.backends.{engine}",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username,
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname,
        "PORT": parts.port or (5432 if engine == "postgresql" else 3306),
        "OPTIONS": options,
    }


def configure_project(urlconf: str, middleware: list[str], databases: dict[str, Any]) -> None:
    """Django set up as a small JSON project: no apps, `urlconf` its URLconf module."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=urlconf,
        MIDDLEWARE=middleware,
        INSTALLED_APPS=[],
        DATABASES=databases,
        USE_TZ=True,
    )
    django.setup()
