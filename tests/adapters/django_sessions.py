"""A Django project whose sessions live in its database: failures outside the view.

Run as a server process (``start_app("tests.adapters.django_sessions:create_app",
..., wsgi=True)``). ``SESSIONS_DATABASE`` is a SQLite file (rollback
journal, so that a writer's exclusive lock keeps readers out too) with a
0.2 s busy timeout. ``/visit`` counts visits in the session: Django's
``SessionMiddleware`` saves it after the view, on the way out. A
middleware after ``AuthenticationMiddleware`` asks whether the user is
signed in before the view, which reads the session of a request that
carries its cookie. ``POST /failing`` commits an order, then raises; ``POST /raising`` raises
at once. ``handler500`` is `httpconflict.django.server_error`
unless ``SESSIONS_HANDLER500`` is ``django`` (Django's own, for
comparison).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="tests-only",  # noqa: S106  # a test project's
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
    ],
    MIDDLEWARE=[
        "httpconflict.django.ProblemMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        f"{__name__}.UserFirst",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["SESSIONS_DATABASE"],
            "OPTIONS": {"timeout": 0.2},
        }
    },
    USE_TZ=True,
)
django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


class UserFirst:
    """Looks the user up before the view (as an access rule or an audit log would)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.signed_in = request.user.is_authenticated
        return self.get_response(request)


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


def visit(request: HttpRequest) -> HttpResponse:
    visits = int(request.session.get("visits", 0)) + 1
    request.session["visits"] = visits
    return JsonResponse({"visits": visits})


#: What ``POST /failing`` raises once its order is committed, and ``POST /raising`` at once.
FAILED = "the Django view failed"


def failing(request: HttpRequest) -> HttpResponse:
    """Commits an order (autocommit), then raises: an app's bug after its commit."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO failing_orders (item) VALUES ('tea')")
    raise RuntimeError(FAILED)


def raising(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(FAILED)


urlpatterns = [
    path("healthz", healthz),
    path("visit", visit),
    path("failing", failing),
    path("raising", raising),
]
if os.environ.get("SESSIONS_HANDLER500") != "django":
    handler500 = "httpconflict.django.server_error"


def create_app() -> Any:
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", run_syncdb=True, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS failing_orders (id INTEGER PRIMARY KEY, item)")
    return get_wsgi_application()
