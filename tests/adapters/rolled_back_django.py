"""A Django project on `conflict_ledger` whose transaction a middleware commits after the view.

``AtomicAfterView`` runs the rest of the request in ``transaction.atomic()``
(as ``ATOMIC_REQUESTS`` does, but around the view's middleware too): its
COMMIT comes after the view formed its answer, and an error there reaches
Django's ``handler500`` (`httpconflict.django.server_error`). PostgreSQL
or MariaDB at SERIALIZABLE. Keys: the WSGI `IdempotencyMiddleware` (in
memory) around the project. Run as a server process (``start_app(...,
wsgi=True)``) from ``CONFLICT_DATABASE``; never imported by the test process.
"""

from __future__ import annotations

import json
import os
from typing import Any

import django
from django.conf import settings

from tests.adapters.django_databases import database

_URL = os.environ["CONFLICT_DATABASE"]
_SERIALIZABLE: Any = "serializable"
if _URL.startswith("postgresql://"):
    import psycopg

    _SERIALIZABLE = psycopg.IsolationLevel.SERIALIZABLE
_DATABASE = database(_URL)
_DATABASE["OPTIONS"]["isolation_level"] = _SERIALIZABLE

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["httpconflict.django.ProblemMiddleware", f"{__name__}.AtomicAfterView"],
    INSTALLED_APPS=[],
    DATABASES={"default": _DATABASE},
    USE_TZ=True,
)
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from httpconflict import PreconditionFailed, PreconditionRequired  # noqa: E402
from httpconflict.storage.idempotency import idempotency_store  # noqa: E402
from httpconflict.wsgi import IdempotencyMiddleware  # noqa: E402
from tests.adapters.conflict_ledger import LAST_NUMBER, LAST_ROW, LAST_VERSION  # noqa: E402

handler500 = "httpconflict.django.server_error"


class AtomicAfterView:
    """The request's transaction, committed on the way out, after the view's answer."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with transaction.atomic():
            response: HttpResponseBase = self.get_response(request)
        return response


def _scalar(sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


@csrf_exempt  # type: ignore[untyped-decorator]
def counter(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        version, n = _scalar(LAST_ROW)
        return JsonResponse({"n": n}, headers={"ETag": f'"{version}"'})
    tag = request.headers.get("If-Match", "").strip('"')
    if not tag.isdigit():
        raise PreconditionRequired("send If-Match with the counter's ETag")
    (current,) = _scalar(LAST_VERSION)
    if current != int(tag):
        raise PreconditionFailed("the counter changed", current_etag=f'"{current}"')
    n = int(json.loads(request.body)["n"])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO conflict_ledger (version, n, request_key) VALUES (%s, %s, %s)",
            [int(tag) + 1, n, request.headers.get("Idempotency-Key")],
        )
    return JsonResponse({"n": n}, headers={"ETag": f'"{int(tag) + 1}"'})


@csrf_exempt  # type: ignore[untyped-decorator]
def orders(request: HttpRequest) -> HttpResponse:
    (last,) = _scalar(LAST_NUMBER)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO conflict_orders (number, request_key) VALUES (%s, %s)",
            [int(last) + 1, request.headers["Idempotency-Key"]],
        )
    return JsonResponse({"number": int(last) + 1}, status=201)


urlpatterns = [
    path("healthz", lambda request: JsonResponse({"ok": True})),
    path("counter", counter),
    path("orders", orders),
]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    return IdempotencyMiddleware(get_wsgi_application(), store=idempotency_store("memory"))
