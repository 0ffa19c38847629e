"""Django as an ASGI app behind IdempotencyMiddleware, run under uvicorn: orders counted in memory.

``POST /orders`` takes 0.3 s (a view in a worker thread, as Django runs a
sync view), counts one order and answers 201; ``GET /orders/count`` says
how many were made. Django ends its handling of a request whose client
went away (it listens for ``http.disconnect`` while the view runs), but
it cannot stop the view's thread: the order is made all the same.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
)

import django  # noqa: E402

django.setup()

from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy  # noqa: E402
from httpconflict.storage.idempotency import idempotency_store  # noqa: E402

_lock = threading.Lock()
_orders = [0]


@csrf_exempt  # type: ignore[untyped-decorator]  # Django ships no types
def orders(request: HttpRequest) -> HttpResponse:
    time.sleep(0.3)
    with _lock:
        _orders[0] += 1
        number = _orders[0]
    order = {"order": number, **json.loads(request.body)}
    return JsonResponse(order, status=201, headers={"Location": f"/orders/{number}"})


def count(request: HttpRequest) -> HttpResponse:
    with _lock:
        return JsonResponse({"count": _orders[0]})


urlpatterns = [path("orders", orders), path("orders/count", count)]


def create_app() -> Any:
    from django.core.asgi import get_asgi_application

    return IdempotencyMiddleware(
        get_asgi_application(), store=idempotency_store("memory"), policy=IdempotencyPolicy()
    )
