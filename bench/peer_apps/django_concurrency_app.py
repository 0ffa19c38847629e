"""django-concurrency under Django REST framework: a Note with an ``IntegerVersionField``.

As django-concurrency's documentation writes it: the model's version is an
``IntegerVersionField``, the client sends back the version it read in the
body (the ModelSerializer's ``version`` field), ``save()`` runs ``UPDATE ...
WHERE id = ? AND version = ?`` and raises ``RecordModifiedError`` when no
row matched, and ``ConcurrencyMiddleware`` turns that into a 409 through
``CONCURRENCY_HANDLER409`` (here a JSON answer: the default handler
crashes, see the setting). The view is a DRF ModelViewSet
(``PUT /notes/<id>/`` is its ``update``), JSON only, no authentication.

The notes live in their own table (``peer_apps_note``) with the same
columns as bench/adapter_apps: id, title, count, version.

Run: ``uvicorn bench.peer_apps.django_concurrency_app:application --lifespan off``
"""

from __future__ import annotations

import django
from django.conf import settings

from bench.adapter_apps import db_path, note_count

settings.configure(
    SECRET_KEY="bench-only",  # noqa: S106  # nothing here signs or encrypts
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["rest_framework", "concurrency", "bench.peer_apps"],
    MIDDLEWARE=["concurrency.middleware.ConcurrencyMiddleware"],
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
    # The default handler (concurrency.views.conflict) answers 500 without a 409.html
    # template on Django 5.2: its fallback renders a Template with a dict. So a JSON one.
    CONCURRENCY_HANDLER409=f"{__name__}.conflict",
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
from django.core.asgi import get_asgi_application
from django.db import connection, models
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import routers, serializers, viewsets


class Note(models.Model):  # type: ignore[misc]
    title = models.CharField(max_length=200)
    count = models.IntegerField(default=0)
    version = IntegerVersionField()

    class Meta:
        app_label = "peer_apps"


class NoteSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Note
        fields = ("id", "title", "count", "version")


class NoteViewSet(viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Note.objects.all()
    serializer_class = NoteSerializer


def conflict(request: HttpRequest, target: object = None) -> HttpResponse:
    return JsonResponse({"detail": "the note changed since it was read"}, status=409)


router = routers.SimpleRouter()
router.register("notes", NoteViewSet)
urlpatterns = router.urls

# The model lives in this module, not in an app's models.py, so migrate would skip it.
if Note._meta.db_table not in connection.introspection.table_names():
    with connection.schema_editor() as editor:
        editor.create_model(Note)
Note.objects.bulk_create(
    [Note(id=k, title="benchmark note", count=0, version=1) for k in range(note_count())],
    ignore_conflicts=True,
)
application = get_asgi_application()
