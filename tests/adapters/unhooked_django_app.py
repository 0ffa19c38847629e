"""A Django app behind the WSGI `IdempotencyMiddleware` alone (no ``ProblemMiddleware``).

``POST /orders`` inserts an order through Django's connection (its own
execute wrappers are the library's hooks), then raises; ``GET
/orders/count`` counts them, in the SQLite file ``UNHOOKED_DATABASE``
names. Nothing of ``httpconflict.django`` is imported or installed.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["UNHOOKED_DATABASE"]}
    },
)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore  # noqa: E402
from httpconflict.wsgi import IdempotencyMiddleware  # noqa: E402


@csrf_exempt  # type: ignore[untyped-decorator]  # Django ships no types
def orders(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO orders DEFAULT VALUES")  # autocommit: committed now
    raise RuntimeError("the receipt's template is missing")  # a bug after the commit


def count(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders")
        return JsonResponse({"orders": cursor.fetchone()[0]})


urlpatterns = [path("orders", orders), path("orders/count", count)]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY)")
    connection.close()
    return IdempotencyMiddleware(get_wsgi_application(), store=MemoryIdempotencyStore())
