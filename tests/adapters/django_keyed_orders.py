"""Keyed creates in a Django project (one module): each POST reads first, then inserts.

The Django counterpart of keyed_orders_flask.py, for the same test: run as
a server process (``start_app("tests.adapters.django_keyed_orders:create_app",
..., wsgi=True)``), never imported by the test process (Django's settings are
configured once per process). ``ORDERS_DATABASE`` is a ``postgresql://``
URL. Connections live on between requests (``CONN_MAX_AGE``), so a request
meets a connection whose backend was ended while it idled. ``POST /orders``
(its Idempotency-Key required: the WSGI IdempotencyMiddleware around the
project, on a memory store) reads the orders of its key, then inserts one
row holding the key, in Django's autocommit mode: 201.
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

from tests.adapters.django_databases import database

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["httpconflict.django.ProblemMiddleware"],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {**database(os.environ["ORDERS_DATABASE"]), "CONN_MAX_AGE": 60},
    },
    USE_TZ=True,
)
django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from httpconflict.storage.idempotency import idempotency_store  # noqa: E402
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy  # noqa: E402


@csrf_exempt  # type: ignore[untyped-decorator]
def create(request: HttpRequest) -> HttpResponse:
    key = request.headers["Idempotency-Key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM keyed_orders WHERE request_key = %s", [key])
        cursor.execute("INSERT INTO keyed_orders (request_key) VALUES (%s)", [key])
    return JsonResponse({"created": True}, status=201)


urlpatterns = [
    path("healthz", lambda request: JsonResponse({"ok": True})),
    path("orders", create),
]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS keyed_orders"
            " (id serial PRIMARY KEY, request_key varchar(255) NOT NULL)"
        )
    connection.close()
    policy = IdempotencyPolicy(required=True)
    return IdempotencyMiddleware(
        get_wsgi_application(), store=idempotency_store("memory"), policy=policy
    )
