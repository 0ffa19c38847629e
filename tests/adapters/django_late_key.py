"""A Django project that counts, recording its Idempotency-Key in one transaction or another.

Run as a server process (``start_app("tests.adapters.django_late_key:create_app", ...)``,
ASGI under uvicorn). ``POST /{mode}`` adds 1 to a counter on PostgreSQL
(LATE_KEY_DATABASE, the ``default`` database) and answers ``{"n": n}``,
recording the answer (`httpconflict.django.record_answer`), by ``mode``:

- ``first``: in the increment's own ``transaction.atomic()`` (as the docs ask);
- ``read``: the same, after an atomic block that only read;
- ``other``: the same, after a write committed in another database (a
  SQLite file, LATE_KEY_OTHER: the ``other`` database);
- ``late``: the increment in one atomic block, the record in a second one;
  ``late-autocommit``: the increment in autocommit mode (it commits
  itself), the record in an atomic block. Between the two, ``X-Between:
  kill`` SIGKILLs the worker and ``X-Between: raise`` raises;
- ``never``: nowhere: the increment commits in its atomic block and no
  answer is recorded (a route that forgot `record_answer`); ``peek``:
  nowhere, and it only reads n.

Behind `httpconflict.asgi.IdempotencyMiddleware` with a transactional
policy and the PostgreSQL key store on the same database. ``GET /count`` reads n.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from typing import Any

import django
from django.conf import settings
from examples.django_app.settings import database

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="tests-only",  # noqa: S106  # a test project's
    INSTALLED_APPS=[],
    MIDDLEWARE=["httpconflict.django.ProblemMiddleware"],
    DATABASES={
        "default": database(os.environ["LATE_KEY_DATABASE"]),
        "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["LATE_KEY_OTHER"]},
    },
    USE_TZ=True,
)
django.setup()

from django.db import connections, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from httpconflict.asgi import active_claim  # noqa: E402
from httpconflict.django import record_answer  # noqa: E402

INCREMENT = "UPDATE late_counter SET n = n + 1 WHERE id = 1 RETURNING n"


def _increment() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute(INCREMENT)
        return int(cursor.fetchone()[0])


def _between(request: HttpRequest) -> None:
    what = request.headers.get("x-between")
    if what == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if what == "raise":
        raise RuntimeError("the app failed between its two transactions")


def _record(request: HttpRequest, made: HttpResponse) -> None:
    claim = active_claim(request.scope)
    record_answer(claim, made.status_code, made.items(), made.content)


def count(request: HttpRequest, mode: str) -> HttpResponse:
    if mode == "peek":
        return read(request)
    if mode == "never":
        with transaction.atomic():
            return JsonResponse({"n": _increment()})
    if mode == "read":
        with transaction.atomic(), connections["default"].cursor() as cursor:
            cursor.execute("SELECT n FROM late_counter")
    if mode == "other":
        with transaction.atomic(using="other"), connections["other"].cursor() as cursor:
            cursor.execute("INSERT INTO visits (n) VALUES (1)")
    if mode.startswith("late"):
        if mode == "late-autocommit":
            n = _increment()
        else:
            with transaction.atomic():
                n = _increment()
        made = JsonResponse({"n": n})
        _between(request)
        with transaction.atomic():
            _record(request, made)
        return made
    with transaction.atomic():
        made = JsonResponse({"n": _increment()})
        _record(request, made)
    return made


def read(request: HttpRequest) -> HttpResponse:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT n FROM late_counter")
        return JsonResponse({"n": cursor.fetchone()[0]})


urlpatterns = [path("count", read), path("<str:mode>", count)]


def create_app() -> Any:
    import psycopg
    from django.core.asgi import get_asgi_application

    from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy
    from httpconflict.storage.idempotency import idempotency_store

    # (uvicorn calls this in its event loop, where Django's connections refuse to run.)
    with psycopg.connect(os.environ["LATE_KEY_KEYS"], autocommit=True) as admin:
        admin.execute("CREATE TABLE IF NOT EXISTS late_counter (id INTEGER PRIMARY KEY, n INTEGER)")
        admin.execute("INSERT INTO late_counter VALUES (1, 0) ON CONFLICT DO NOTHING")
    with contextlib.closing(sqlite3.connect(os.environ["LATE_KEY_OTHER"])) as other:
        other.execute("CREATE TABLE IF NOT EXISTS visits (n INTEGER)")
    store = idempotency_store(os.environ["LATE_KEY_KEYS"])
    policy = IdempotencyPolicy(transactional=True)
    return IdempotencyMiddleware(get_asgi_application(), store=store, policy=policy)
