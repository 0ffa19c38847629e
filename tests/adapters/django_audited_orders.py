"""A Django project whose middleware above `ProblemMiddleware` writes an audit row on the way out.

Run under gunicorn's threaded worker (``django_audited_orders:application``),
never imported by the test process. ``ORDERS_DATABASE``: a ``postgresql://``
URL whose tables (``orders``, ``audit``) the test made. ``ATOMIC_REQUESTS``
and ``CONN_MAX_AGE`` 60: each request's connection is the thread's, kept.
The audit row of each 2xx is sent after `ProblemMiddleware`'s watch ended,
on the thread that serves the next request. ``POST /orders`` inserts a
row: 201. ``POST /search`` only reads: 200.
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
    MIDDLEWARE=[f"{__name__}.Audit", "httpconflict.django.ProblemMiddleware"],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            **database(os.environ["ORDERS_DATABASE"]),
            "ATOMIC_REQUESTS": True,
            "CONN_MAX_AGE": 60,
        },
    },
    USE_TZ=True,
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


class Audit:
    """Writes a row for each answered 2xx, after the middlewares below it answered."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = self.get_response(request)
        if response.status_code < 300 and request.path != "/healthz":
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO audit (what) VALUES (%s)", [request.path])
        return response


@csrf_exempt  # type: ignore[untyped-decorator]
def create(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders")
        cursor.execute("INSERT INTO orders (n) VALUES (1)")
    return JsonResponse({"created": True}, status=201)


@csrf_exempt  # type: ignore[untyped-decorator]
def search(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders")
        (found,) = cursor.fetchone()
    return JsonResponse({"orders": found})


urlpatterns = [
    path("healthz", lambda request: JsonResponse({"ok": True})),
    path("orders", create),
    path("search", search),
]

application = get_wsgi_application()
