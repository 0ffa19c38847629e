"""A Django project on `conflict_ledger` in an SQLite file, each write's COMMIT one way.

``BUSY_DJANGO_MODE`` says how the views' transaction is committed:

- ``atomic_requests``: ``ATOMIC_REQUESTS``, the COMMIT as the view returns;
- ``atomic_view``: the view's own ``transaction.atomic()``;
- ``middleware``: a middleware's ``transaction.atomic()`` around the view, the COMMIT
  after the view formed its answer (an error there reaches ``handler500``,
  `httpconflict.django.server_error`);
- ``autocommit``: ``set_autocommit(False)``, ``commit()``, and
  ``set_autocommit(True)`` in a ``finally`` (Django's docs warn against it:
  sqlite3 commits an open transaction as autocommit is turned back on).

The file keeps its rollback journal (no WAL), so a reader of another
process keeps every COMMIT out; the busy timeout is ``CONFLICT_SQLITE_BUSY_TIMEOUT``.
`httpconflict.django.ProblemMiddleware` answers errors; keys: the WSGI
`IdempotencyMiddleware` (in memory) around the project. Run as a server
process (``create_app()``); never imported by the test process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import django
from django.conf import settings

from tests.adapters.conflict_ledger import BUSY_TIMEOUT

MODE = os.environ["BUSY_DJANGO_MODE"]
_MIDDLEWARE = ["httpconflict.django.ProblemMiddleware"]
if MODE == "middleware":
    _MIDDLEWARE.append(f"{__name__}.AtomicAfterView")

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=_MIDDLEWARE,
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["CONFLICT_DATABASE"],
            "OPTIONS": {"timeout": float(os.environ[BUSY_TIMEOUT])},
            "ATOMIC_REQUESTS": MODE == "atomic_requests",
        }
    },
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


@contextmanager
def _write() -> Iterator[None]:
    """The view's transaction, as `MODE` makes it."""
    if MODE == "atomic_view":
        with transaction.atomic():
            yield
    elif MODE == "autocommit":
        transaction.set_autocommit(False)
        try:
            yield
            transaction.commit()
        finally:
            transaction.set_autocommit(True)
    else:
        yield


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
    n = int(json.loads(request.body)["n"])
    with _write():
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
    with _write():
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
