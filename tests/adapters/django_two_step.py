"""A Django project whose writes commit in two databases: the second one's failure after the first.

Run as a server process (``start_app("tests.adapters.django_two_step:create_app",
..., wsgi=True)``). ``TWO_STEP_DIR`` holds two SQLite files (rollback
journal, 0.2 s busy timeout): ``orders.db`` (the ``default`` database) and
``ledger.db`` (``ledger``), which the test locks (``BEGIN EXCLUSIVE``) so
that the second write gives up. ``POST /{mode}/orders`` inserts an order,
in autocommit (``mode`` ``autocommit``) or in ``transaction.atomic()``
(``atomic``), then counts it in the ledger. Behind
`httpconflict.wsgi.IdempotencyMiddleware` with a memory store.
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

DIRECTORY = os.environ["TWO_STEP_DIR"]


def _database(name: str) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(DIRECTORY, f"{name}.db"),
        "OPTIONS": {"timeout": 0.2},
    }


settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="tests-only",  # noqa: S106  # a test project's
    INSTALLED_APPS=[],
    MIDDLEWARE=["httpconflict.django.ProblemMiddleware"],
    DATABASES={"default": _database("orders"), "ledger": _database("ledger")},
    USE_TZ=True,
)
django.setup()

from django.db import connections, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def _create_tables() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item TEXT)")
    with connections["ledger"].cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS ledger (n INTEGER)")


def _insert() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("INSERT INTO orders (item) VALUES ('tea')")
        return int(cursor.lastrowid)


def orders(request: HttpRequest, mode: str) -> HttpResponse:
    if request.method == "GET":
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM orders")
            return JsonResponse({"orders": cursor.fetchone()[0]})
    if mode == "atomic":
        with transaction.atomic():
            new = _insert()
    else:
        new = _insert()
    with transaction.atomic(using="ledger"), connections["ledger"].cursor() as cursor:
        cursor.execute("INSERT INTO ledger (n) VALUES (1)")
    return JsonResponse({"id": new}, status=201)


urlpatterns = [path("<str:mode>/orders", orders)]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    from httpconflict.storage.idempotency import idempotency_store
    from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

    _create_tables()
    return IdempotencyMiddleware(
        get_wsgi_application(), store=idempotency_store("memory"), policy=IdempotencyPolicy()
    )
