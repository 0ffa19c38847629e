"""A Django project in one module: versioned notes as plain views and as a DRF viewset.

Run as a server process (``start_app("tests.adapters.django_notes:create_app",
..., wsgi=True)``), never imported by the test process: Django's settings
can be configured once per process. ``NOTES_DATABASE`` is a SQLite file, a
``postgresql://`` or a ``mysql://`` (MariaDB) URL; the tables are created on
start if missing.

The plain views are the ones docs/django.md shows; `/notes/{pk}` and
`/api/notes/{pk}` write the same rows, so concurrent clients can use both.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import django
from django.conf import settings

from tests.adapters.django_databases import database

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["httpconflict.django.ProblemMiddleware"],
    INSTALLED_APPS=["tests.adapters.notes_app.NotesConfig"],
    DATABASES={"default": database(os.environ["NOTES_DATABASE"])},
    DATA_UPLOAD_MAX_MEMORY_SIZE=1000,
    USE_TZ=True,
    REST_FRAMEWORK={
        "EXCEPTION_HANDLER": "httpconflict.django.rest_framework.exception_handler",
        "DEFAULT_PARSER_CLASSES": ["httpconflict.django.rest_framework.JSONParser"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

from django.core.exceptions import PermissionDenied  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.shortcuts import get_object_or_404  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.decorators import decorator_from_middleware  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_http_methods  # noqa: E402
from rest_framework import mixins, serializers, viewsets  # noqa: E402
from rest_framework.routers import SimpleRouter  # noqa: E402

from httpconflict import Unavailable, Validators, rebase_fields  # noqa: E402
from httpconflict.django import (  # noqa: E402
    ConditionalGetMiddleware,
    conditional,
    etag_of,
    json_body,
    request_patch,
    versioned_delete,
    versioned_patch,
    versioned_update,
)
from httpconflict.django.rest_framework import ConditionalModelMixin  # noqa: E402


class Note(models.Model):  # type: ignore[misc]
    title = models.CharField(max_length=200)
    count = models.IntegerField(default=0)
    writer = models.CharField(max_length=200, default="")
    version = models.PositiveIntegerField(default=1)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "notes"


class NoteVersion(models.Model):  # type: ignore[misc]
    """What each version of a note held, written with it: the base a stale patch rebases from."""

    note = models.IntegerField()
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    count = models.IntegerField()
    writer = models.CharField(max_length=200)

    class Meta:
        app_label = "notes"
        unique_together = (("note", "version"),)


class User(models.Model):  # type: ignore[misc]
    email = models.CharField(max_length=200, unique=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        app_label = "notes"


class Label(models.Model):  # type: ignore[misc]
    name = models.CharField(max_length=50)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        app_label = "notes"


class Book(models.Model):  # type: ignore[misc]
    """A row with a many-to-many field, as a recipe has its tags."""

    title = models.CharField(max_length=200)
    labels = models.ManyToManyField(Label, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        app_label = "notes"


# --- plain Django views ---------------------------------------------------------

FIELDS = ("title", "count", "writer")


def as_json(note: Any) -> dict[str, Any]:
    return {"id": note.pk, **{f: getattr(note, f) for f in FIELDS}, "updated": note.updated}


def fields_of(note: Any) -> dict[str, Any]:
    """A note as a patch sees it: its fields."""
    return {f: getattr(note, f) for f in FIELDS}


def keep(note: Any) -> None:
    """Record the version just written (in the transaction that wrote it)."""
    NoteVersion.objects.create(note=note.pk, version=note.version, **fields_of(note))


def kept(pk: int) -> Any:
    def at(version: int) -> dict[str, Any] | None:
        found = NoteVersion.objects.filter(note=pk, version=version).first()
        return None if found is None else fields_of(found)

    return at


def note_validators(request: HttpRequest, pk: int) -> Validators | None:
    note = Note.objects.filter(pk=pk).first()
    return None if note is None else Validators(etag_of(note), note.updated)


@csrf_exempt  # type: ignore[untyped-decorator]
@require_http_methods(["GET", "HEAD", "PUT", "PATCH", "DELETE"])  # type: ignore[untyped-decorator]
@conditional(note_validators)  # 304 and 412 for GET and HEAD
def note(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "PUT":
        body = json_body(request)  # 415, 400, 422 as problems
        values = {f: body[f] for f in FIELDS if f in body}
        with transaction.atomic():
            written = versioned_update(Note, pk, values, request)  # 428, 412, 404
            keep(written.row)
        return JsonResponse(as_json(written.row), headers={"ETag": written.etag.to_header()})
    if request.method == "PATCH":
        patch = request_patch(request)  # 415, 400 as problems
        with transaction.atomic():
            # 412 when stale, unless Prefer: rebase (then 409 for a clash), 428, 404
            written = versioned_patch(
                Note, pk, patch, request, document=fields_of, history=kept(pk)
            )
            if written.changed:
                keep(written.row)
        headers = {"ETag": written.etag.to_header(), **rebase_fields(written.rebased_from)}
        return JsonResponse(as_json(written.row), headers=headers)
    if request.method == "DELETE":
        versioned_delete(Note, pk, request)
        return HttpResponse(status=204)
    return JsonResponse(as_json(get_object_or_404(Note, pk=pk)))


@csrf_exempt  # type: ignore[untyped-decorator]
@require_http_methods(["POST"])  # type: ignore[untyped-decorator]
def create_note(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    with transaction.atomic():
        note = Note.objects.create(**{f: body[f] for f in FIELDS if f in body})
        keep(note)
    headers = {"ETag": etag_of(note).to_header(), "Location": f"/notes/{note.pk}"}
    return JsonResponse(as_json(note), status=201, headers=headers)


@csrf_exempt  # type: ignore[untyped-decorator]
def create_user(request: HttpRequest) -> HttpResponse:
    user = User.objects.create(email=json_body(request)["email"])  # a taken email: 409
    return JsonResponse({"id": user.pk, "email": user.email}, status=201)


@csrf_exempt  # type: ignore[untyped-decorator]
def create_label(request: HttpRequest) -> HttpResponse:
    """Labels are made here: their viewset has no create."""
    label = Label.objects.create(name=json_body(request)["name"])
    return JsonResponse({"id": label.pk}, status=201)


NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)
TAGGED = '"a,b"'


@conditional(lambda request: Validators(last_modified=NOON))
def clock(request: HttpRequest) -> HttpResponse:
    """A resource with a modification date and no ETag."""
    return JsonResponse({"noon": NOON.isoformat()})


@decorator_from_middleware(ConditionalGetMiddleware)  # type: ignore[untyped-decorator]
def tagged(request: HttpRequest) -> HttpResponse:
    """A view that sets its own ETag (with a comma in it, a valid etagc): the middleware's."""
    return JsonResponse({"tagged": True}, headers={"ETag": TAGGED})


def unavailable(request: HttpRequest) -> HttpResponse:
    raise Unavailable("the database is being migrated", retry_after=7)


def host(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"host": request.get_host()})  # DisallowedHost: Django's 400 page


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("not yours")


@csrf_exempt  # type: ignore[untyped-decorator]
def echo(request: HttpRequest) -> HttpResponse:
    return JsonResponse(json_body(request))


def chosen_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"error": "the view's own"}, status=400)


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


# --- Django REST framework ------------------------------------------------------


class NoteSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Note
        fields = ("id", "title", "count", "writer")


class NoteViewSet(ConditionalModelMixin, viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Note.objects.all()
    serializer_class = NoteSerializer


class UserSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    # ModelSerializer's UniqueValidator kept: its refusal is answered as the index's.
    class Meta:
        model = User
        fields = ("id", "email")


class UserViewSet(ConditionalModelMixin, viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = User.objects.all()
    serializer_class = UserSerializer


class BookSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Book
        fields = ("id", "title", "labels")  # labels: primary keys, many (DRF's default)


class BookViewSet(ConditionalModelMixin, viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Book.objects.all()
    serializer_class = BookSerializer


class LabelSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Label
        fields = ("id", "name")


_LABEL_BASES: Any = (
    mixins.ListModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
)


class LabelViewSet(ConditionalModelMixin, *_LABEL_BASES):  # type: ignore[misc]
    """No create, no retrieve: the mixin adds neither."""

    queryset = Label.objects.all()
    serializer_class = LabelSerializer


router = SimpleRouter(trailing_slash=False)
router.register("api/notes", NoteViewSet)
router.register("api/users", UserViewSet)
router.register("api/books", BookViewSet)
router.register("api/labels", LabelViewSet)

urlpatterns = [
    path("healthz", lambda request: JsonResponse({"status": "ok"})),
    path("notes", create_note),
    path("notes/<int:pk>", note),
    path("users", create_user),
    path("labels", create_label),
    path("clock", clock),
    path("tagged", tagged),
    path("unavailable", unavailable),
    path("forbidden", forbidden),
    path("host", host),
    path("echo", echo),
    path("chosen-error", chosen_error),
    path("boom", boom),
    *router.urls,
]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    existing = connection.introspection.table_names()
    with connection.schema_editor() as editor:
        for model in (Note, NoteVersion, User, Label, Book):
            if model._meta.db_table not in existing:
                editor.create_model(model)
    connection.close()
    return get_wsgi_application()
