"""A Django REST framework API with django-concurrency, as their documentation sets it up.

One module is the whole project: settings, a ``Note`` model whose
``version`` is an ``IntegerVersionField``, a ``ModelSerializer`` that
carries it, a ``ModelViewSet`` behind DRF's ``DefaultRouter`` (so the
collection is ``/notes/`` with its trailing slash, and ``/notes/<id>/``),
Django's default ``CommonMiddleware`` (APPEND_SLASH: ``POST /notes``
answers 301) and django-concurrency's ``ConcurrencyMiddleware``. Nothing
here sends ETags or reads If-Match: the version travels in the body.

``DRF_CONFLICT=default`` keeps django-concurrency's default 409 handler,
which on Django 5.2 answers 500 without a ``409.html`` template (its
fallback renders a Template with a dict); ``DRF_CONFLICT=json`` sets
``CONCURRENCY_HANDLER409`` to a JSON 409. ``DRF_DATABASE`` is the SQLite
file. Run: ``python -m tests.apps.wsgi tests.audit.drf_project:create_app PORT``.
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

HANDLERS = {"default": "concurrency.views.conflict", "json": f"{__name__}.conflict"}

settings.configure(
    SECRET_KEY="tests-only",  # noqa: S106  # nothing here signs or encrypts
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["rest_framework", "concurrency"],
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "concurrency.middleware.ConcurrencyMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DRF_DATABASE", ":memory:"),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL", "timeout": 20},
        }
    },
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
    CONCURRENCY_HANDLER409=HANDLERS[os.environ.get("DRF_CONFLICT", "default")],
    REST_FRAMEWORK={
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

# ruff: noqa: E402  # the imports below need the settings
from concurrency.fields import IntegerVersionField  # type: ignore[import-untyped]  # untyped
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection, models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from rest_framework import routers, serializers, viewsets


class Note(models.Model):  # type: ignore[misc]
    title = models.CharField(max_length=200)
    count = models.IntegerField(default=0)
    version = IntegerVersionField()

    class Meta:
        app_label = "concurrency"
        db_table = "audit_note"


class NoteSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Note
        fields = ("id", "title", "count", "version")


class NoteViewSet(viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Note.objects.all()
    serializer_class = NoteSerializer


def conflict(request: HttpRequest, target: Any = None) -> HttpResponse:
    return JsonResponse({"detail": "the note changed since it was read"}, status=409)


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


router = routers.DefaultRouter()
router.register("notes", NoteViewSet)
urlpatterns = [path("healthz", healthz), *router.urls]


def create_app() -> WSGIHandler:
    """The WSGI application, its table created first."""
    if Note._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Note)
    application: WSGIHandler = get_wsgi_application()
    return application
