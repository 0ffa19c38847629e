"""A JSON:API with django-rest-framework-json-api, as its documentation sets one up.

One module is the whole project: a ``Note`` model, a ``ModelSerializer``
and a ``ModelViewSet`` behind DRF's ``DefaultRouter``, with
rest_framework_json_api's parser, renderer, exception handler and
pagination. Answers are ``application/vnd.api+json`` documents
(``{"data": {"type": "notes", "id": "1", "attributes": {...}}}``), and so
must requests be. Nothing here sends ETags or reads If-Match: a PATCH
replaces what it names. ``JSONAPI_DATABASE`` is the SQLite file. Run:
``python -m tests.apps.wsgi tests.audit.jsonapi_project:create_app PORT``.
"""

from __future__ import annotations

import os

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="tests-only",  # noqa: S106  # nothing here signs or encrypts
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["rest_framework", "rest_framework_json_api"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("JSONAPI_DATABASE", ":memory:"),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL", "timeout": 20},
        }
    },
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
    REST_FRAMEWORK={
        "EXCEPTION_HANDLER": "rest_framework_json_api.exceptions.exception_handler",
        "DEFAULT_PAGINATION_CLASS": (
            "rest_framework_json_api.pagination.JsonApiPageNumberPagination"
        ),
        "DEFAULT_PARSER_CLASSES": ["rest_framework_json_api.parsers.JSONParser"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework_json_api.renderers.JSONRenderer"],
        "DEFAULT_METADATA_CLASS": "rest_framework_json_api.metadata.JSONAPIMetadata",
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

# ruff: noqa: E402  # the imports below need the settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection, models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from rest_framework import routers, viewsets
from rest_framework_json_api import serializers


class Note(models.Model):  # type: ignore[misc]
    title = models.CharField(max_length=200)
    count = models.IntegerField(default=0)

    class Meta:
        app_label = "rest_framework_json_api"
        db_table = "jsonapi_note"
        ordering = ("id",)


class NoteSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Note
        fields = ("title", "count")
        resource_name = "notes"


class NoteViewSet(viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Note.objects.all()
    serializer_class = NoteSerializer
    resource_name = "notes"


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
