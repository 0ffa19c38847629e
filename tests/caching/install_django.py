"""The counter of install_apps.py in Django, `ProblemMiddleware` in MIDDLEWARE as the docs show.

The view answers ``JsonResponse(..., headers={"ETag": ...})``, saying
nothing of caching and using no read helper; the writes are the one
``UPDATE ... WHERE version = ?`` of counter_apps.py. COUNTER_DATABASE is
a SQLAlchemy URL. Run as a server process (``start_app(...,
wsgi=True)``); never imported by the test process.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from httpconflict.django import json_body, request_conditions
from tests.adapters.counter_apps import _engine, _read, _write
from tests.adapters.django_databases import configure_project

configure_project(__name__, ["httpconflict.django.ProblemMiddleware"], {})

_ENGINE: list[Any] = []  # made by create_app, in the server process


@csrf_exempt  # type: ignore[untyped-decorator]
def counter(request: HttpRequest) -> HttpResponse:
    (engine,) = _ENGINE
    if request.method == "PUT":
        count = json_body(request)["count"]
        etag = _write(engine, count, request_conditions(request))
        return JsonResponse({"count": count}, headers={"ETag": etag})
    count, etag = _read(engine)
    return JsonResponse({"count": count}, headers={"ETag": etag})


urlpatterns = [
    path("healthz", lambda request: JsonResponse({"ok": True})),
    path("counter", counter),
]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    _ENGINE.append(_engine())
    return get_wsgi_application()
