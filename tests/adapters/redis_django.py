"""A Django project whose views use Redis through Django's RedisCache backend.

Run as a server process (``start_app("tests.adapters.redis_django:create_app",
..., wsgi=True)``); REDIS_APP_URL is the cache's Redis, with the clients'
options of redis_apps.py. ``GET /value`` reads the cache, ``POST /take``
moves a job with BLMOVE on the cache's own client, ``POST /count``, ``GET
/values``, ``POST /pipeline`` and ``POST /transaction`` are redis_apps.py's
on that client (on redis-py's cluster client of REDIS_APP_URL with
REDIS_APP_CLUSTER: Django's RedisCache knows no cluster), ``GET
/wrongtype`` is the app's bug (an LPUSH onto a string), ``GET /healthz``
needs no Redis.
The ProblemMiddleware answers for the plain views, REST framework's
handler for ``/api/value``. Sessions are kept in the cache:
``/visit?freeze=1`` freezes Redis (REDIS_APP_PID) after the view read the
session, so that SessionMiddleware fails to save it after the view, which
``handler500`` (`httpconflict.django.server_error`) answers.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import django
from django.conf import settings

from tests.adapters.redis_apps import (
    CLUSTER,
    COUNT,
    OPTIONS,
    VALUES,
    decoded,
    sync_client,
    take_and_record,
)

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="tests-only",  # noqa: S106  # a test project's
    MIDDLEWARE=[
        "httpconflict.django.ProblemMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    INSTALLED_APPS=[],
    DATABASES={},
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_APP_URL"],
            "OPTIONS": OPTIONS,
        }
    },
    REST_FRAMEWORK={
        "EXCEPTION_HANDLER": "httpconflict.django.rest_framework.exception_handler",
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

from django.core.cache import cache  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from rest_framework.decorators import api_view  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402

#: redis-py's cluster client, with REDIS_APP_CLUSTER.
_CLUSTER_CLIENT = sync_client() if CLUSTER else None


def redis_client() -> Any:
    """The cache's own redis client (RedisCache's), or the cluster's."""
    if _CLUSTER_CLIENT is not None:
        return _CLUSTER_CLIENT
    return cache._cache.get_client(write=True)


def value(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"value": cache.get("value")})


@csrf_exempt  # type: ignore[untyped-decorator]
def take(request: HttpRequest) -> JsonResponse:
    client = cache._cache.get_client(write=True)  # RedisCache's own redis client
    job = client.blmove("jobs", "taken", 5)
    return JsonResponse({"job": job.decode() if isinstance(job, bytes) else None})


@csrf_exempt  # type: ignore[untyped-decorator]
def count(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"n": redis_client().incr(COUNT)})


def values(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"values": decoded(redis_client().mget(*VALUES))})


@csrf_exempt  # type: ignore[untyped-decorator]
def pipeline(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"job": decoded(take_and_record(redis_client(), transaction=False))[0]})


@csrf_exempt  # type: ignore[untyped-decorator]
def transaction(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"job": decoded(take_and_record(redis_client(), transaction=True))[0]})


def wrongtype(request: HttpRequest) -> JsonResponse:
    client = cache._cache.get_client(write=True)
    client.set("string", "x")
    return JsonResponse({"n": client.lpush("string", "y")})


@csrf_exempt  # type: ignore[untyped-decorator]
def visit(request: HttpRequest) -> JsonResponse:
    """Count the session's visits; with ``?freeze=1``, freeze Redis before the session is saved."""
    visits = int(request.session.get("visits", 0)) + 1
    request.session["visits"] = visits
    if request.GET.get("freeze"):
        os.kill(int(os.environ["REDIS_APP_PID"]), signal.SIGSTOP)
    return JsonResponse({"visits": visits})


@api_view(["GET"])  # type: ignore[untyped-decorator]
def api_value(request: Request) -> Response:
    return Response({"value": cache.get("value")})


urlpatterns = [
    path("healthz", lambda request: JsonResponse({"status": "ok"})),
    path("value", value),
    path("take", take),
    path("count", count),
    path("values", values),
    path("pipeline", pipeline),
    path("transaction", transaction),
    path("wrongtype", wrongtype),
    path("api/value", api_value),
    path("visit", visit),
]
handler500 = "httpconflict.django.server_error"


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
