"""Django: ``PUT /notes/<id>`` through httpconflict, or a plain queryset update.

Uses the example app's ``Note`` model (examples/django_app) on SQLite (WAL,
``transaction_mode`` IMMEDIATE, as the example configures it), migrated and
seeded on import. The adapter side is a plain view calling
``httpconflict.django.versioned_update`` behind ``ProblemMiddleware``, as
docs/django.md writes it; the plain side calls
``Note.objects.filter(pk=pk).update(...)`` with no middleware. Both also
answer ``GET /notes/<id>`` (the note and its ETag) for bench/peers.py. Both parse the
body with ``json.loads(request.body)``.

No CSRF middleware is installed, so the views need no ``csrf_exempt``.

Run: ``ADAPTER_SIDE=adapter|plain uvicorn bench.adapter_apps.django_app:application``
"""

from __future__ import annotations

import json
from typing import Any

import django
from django.conf import settings
from django.urls import path

from . import db_path, note_count, side

settings.configure(
    SECRET_KEY="bench-only",  # noqa: S106  # nothing here signs or encrypts
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["examples.django_app"],
    MIDDLEWARE=["httpconflict.django.ProblemMiddleware"] if side() == "adapter" else [],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": db_path(),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    },
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  # needs the settings
from django.core.management import call_command  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from examples.django_app.models import Note  # noqa: E402

from httpconflict.django import etag_of, versioned_update  # noqa: E402


def _values(request: HttpRequest) -> dict[str, Any]:
    body = json.loads(request.body)
    return {"title": str(body["title"]), "count": int(body["write"])}


def put_note(request: HttpRequest, pk: int) -> HttpResponse:
    values = _values(request)
    written = versioned_update(Note, pk, values, request)  # 428, 412, 404
    return JsonResponse({"id": pk, **values}, headers={"ETag": written.etag.to_header()})


def put_note_plain(request: HttpRequest, pk: int) -> HttpResponse:
    values = _values(request)
    if Note.objects.filter(pk=pk).update(**values) == 0:
        return JsonResponse({"detail": "there is no such note"}, status=404)
    return JsonResponse({"id": pk, **values})


def get_note(request: HttpRequest, pk: int) -> HttpResponse:
    """The note and its ETag: the read of bench/peers.py's read-modify-write hammer."""
    note = Note.objects.filter(pk=pk).first()
    if note is None:
        return JsonResponse({"detail": "there is no such note"}, status=404)
    body = {"id": pk, "title": note.title, "count": note.count}
    return JsonResponse(body, headers={"ETag": etag_of(note).to_header()})


def note_view(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "GET":
        return get_note(request, pk)
    return put_note(request, pk) if side() == "adapter" else put_note_plain(request, pk)


urlpatterns = [path("notes/<int:pk>", note_view)]

call_command("migrate", verbosity=0)
Note.objects.bulk_create(
    [Note(id=k, title="benchmark note", count=0, version=1) for k in range(note_count())],
    ignore_conflicts=True,
)
application = get_asgi_application()
