"""The Django projects on `conflict_ledger`: their set-up, middleware, views and app.

sqlite_busy_django.py and rolled_back_django.py are each a URLconf that
calls `configure` (`ProblemMiddleware` first, and `AtomicAfterView` when
asked: the request's transaction committed after the view's answer), and
serves `ledger_urls`: ``GET``/``PUT /counter`` (If-Match, a ledger row a
write) and ``POST /orders``, each write in the transaction the project's
`Write` makes. `create_app` is the WSGI app, keys in memory around it.
Imported by those projects' server processes only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

from httpconflict import PreconditionFailed, PreconditionRequired
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.wsgi import IdempotencyMiddleware
from tests.adapters.conflict_ledger import LAST_NUMBER, LAST_ROW, LAST_VERSION
from tests.adapters.django_databases import configure_project

#: The transaction of a view's write, as a project makes it.
Write = Callable[[], AbstractContextManager[Any]]


def configure(urlconf: str, database: dict[str, Any], *, atomic_after_view: bool) -> None:
    """Django set up on `database`, `urlconf` its URLconf module (which names ``handler500``)."""
    middleware = ["httpconflict.django.ProblemMiddleware"]
    if atomic_after_view:
        middleware.append(f"{__name__}.AtomicAfterView")
    configure_project(urlconf, middleware, {"default": database})


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


def ledger_urls(write: Write) -> list[URLPattern]:
    """The projects' views, each write in ``write()``."""

    @csrf_exempt  # type: ignore[untyped-decorator]
    def counter(request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            version, n = _scalar(LAST_ROW)
            return JsonResponse({"n": n}, headers={"ETag": f'"{version}"'})
        tag = request.headers.get("If-Match", "").strip('"')
        if not tag.isdigit():
            raise PreconditionRequired("send If-Match with the counter's ETag")
        n = int(json.loads(request.body)["n"])
        with write():
            (current,) = _scalar(LAST_VERSION)
            if current != int(tag):
                raise PreconditionFailed("the counter changed", current_etag=f'"{current}"')
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO conflict_ledger (version, n, request_key) VALUES (%s, %s, %s)",
                    [int(tag) + 1, n, request.headers.get("Idempotency-Key")],
                )
        return JsonResponse({"n": n}, headers={"ETag": f'"{int(tag) + 1}"'})

    @csrf_exempt  # type: ignore[untyped-decorator]
    def orders(request: HttpRequest) -> HttpResponse:
        with write():
            (last,) = _scalar(LAST_NUMBER)
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO conflict_orders (number, request_key) VALUES (%s, %s)",
                    [int(last) + 1, request.headers["Idempotency-Key"]],
                )
        return JsonResponse({"number": int(last) + 1}, status=201)

    return [
        path("healthz", lambda request: JsonResponse({"ok": True})),
        path("counter", counter),
        path("orders", orders),
    ]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    return IdempotencyMiddleware(get_wsgi_application(), store=idempotency_store("memory"))
