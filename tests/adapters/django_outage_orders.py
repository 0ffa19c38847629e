"""A Django project on PostgreSQL for outage answers: keyed creates, a search, a pure counter.

Run as a server process (``start_app("tests.adapters.django_outage_orders:create_app",
..., wsgi=True)``), never imported by the test process (Django's settings
are configured once per process). Its environment:

- ``ORDERS_DATABASE``: a ``postgresql://`` URL, whose tables the test made
  (``keyed_orders``; ``counter``, one row ``id = 1`` with ``n`` and ``version``);
- ``ORDERS_DRIVER``: ``psycopg`` (Django's choice when both are installed) or
  ``psycopg2`` (psycopg 3 hidden from Django);
- ``ORDERS_ATOMIC``: ``1`` for ``ATOMIC_REQUESTS`` (each view in a transaction,
  a COMMIT at its end), else Django's autocommit mode;
- ``ORDERS_CONN_MAX_AGE``: seconds a connection lives on between requests.

``POST /orders`` (an Idempotency-Key required: the WSGI
IdempotencyMiddleware around the project, on a memory store) reads the
orders of its key, then inserts one row holding the key: 201. ``POST
/search`` only reads: 200. ``GET /counter`` answers ``{"n": n}`` with the
row's version as its ETag; ``PUT /counter`` with ``If-Match`` stores the
body's ``n`` when that version is current (one UPDATE): 200 with the new
ETag, else 412. ``POST /orders/looked-up`` does as ``POST /orders``,
after a middleware's read before the view (an error there reaches
Django's ``handler500``, `httpconflict.django.server_error`). ``POST
/orders/own-transaction`` (for autocommit mode) sends ``BEGIN`` itself,
inserts, then ``COMMIT`` as text, and reads last (``SELECT 'after the
insert'``, a statement a proxy can cut).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

if os.environ.get("ORDERS_DRIVER") == "psycopg2":
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # Django then takes psycopg2

import django
from django.conf import settings

from tests.adapters.django_databases import database

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["httpconflict.django.ProblemMiddleware", f"{__name__}.LookUpFirst"],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            **database(os.environ["ORDERS_DATABASE"]),
            "ATOMIC_REQUESTS": os.environ.get("ORDERS_ATOMIC") == "1",
            "CONN_MAX_AGE": int(os.environ.get("ORDERS_CONN_MAX_AGE", "0")),
        },
    },
    USE_TZ=True,
)
django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from httpconflict.storage.idempotency import idempotency_store  # noqa: E402
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy  # noqa: E402

handler500 = "httpconflict.django.server_error"


class LookUpFirst:
    """Reads before the view of ``/orders/looked-up`` (as a middleware loading a user does)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path == "/orders/looked-up":
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        response: HttpResponseBase = self.get_response(request)
        return response


@csrf_exempt  # type: ignore[untyped-decorator]
def create(request: HttpRequest) -> HttpResponse:
    key = request.headers["Idempotency-Key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM keyed_orders WHERE request_key = %s", [key])
        cursor.execute("INSERT INTO keyed_orders (request_key) VALUES (%s)", [key])
    return JsonResponse({"created": True}, status=201)


@csrf_exempt  # type: ignore[untyped-decorator]
def search(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM keyed_orders")
        (found,) = cursor.fetchone()
    return JsonResponse({"orders": found})


@csrf_exempt  # type: ignore[untyped-decorator]
def counter(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        if request.method == "GET":
            cursor.execute("SELECT n, version FROM counter WHERE id = 1")
            n, version = cursor.fetchone()
            return JsonResponse({"n": n}, headers={"ETag": f'"{version}"'})
        expected = int(request.headers["If-Match"].strip('"'))
        n = json.loads(request.body)["n"]
        cursor.execute(
            "UPDATE counter SET n = %s, version = version + 1 WHERE id = 1 AND version = %s",
            [n, expected],
        )
        if cursor.rowcount != 1:
            return JsonResponse({"stale": True}, status=412)
    return JsonResponse({"n": n}, headers={"ETag": f'"{expected + 1}"'})


@csrf_exempt  # type: ignore[untyped-decorator]
def own_transaction(request: HttpRequest) -> HttpResponse:
    key = request.headers["Idempotency-Key"]
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO keyed_orders (request_key) VALUES (%s)", [key])
        cursor.execute("COMMIT")
        cursor.execute("SELECT 'after the insert'")
    return JsonResponse({"created": True}, status=201)


urlpatterns = [
    path("healthz", lambda request: JsonResponse({"ok": True})),
    path("orders", create),
    path("orders/looked-up", create),
    path("orders/own-transaction", own_transaction),
    path("search", search),
    path("counter", counter),
]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    policy = IdempotencyPolicy(required=True)
    return IdempotencyMiddleware(
        get_wsgi_application(), store=idempotency_store("memory"), policy=policy
    )
