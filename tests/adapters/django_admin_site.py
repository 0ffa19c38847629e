"""A Django project with the admin and generic edit views, on `httpconflict.django.forms`.

Run as a server process (``start_app("tests.adapters.django_admin_site:create_app",
..., wsgi=True)``), never imported by the test process. ``COUNTERS_DATABASE``
is a SQLite file, a ``postgresql://`` or a ``mysql://`` URL (as
django_notes.py reads it); the tables, the user ``staff`` (password
``staff``, a superuser) and ``viewer`` (password ``viewer``: may view and
delete counters, not change them) are made on start. ``COUNTERS_KEYS`` is the SQLite file of the
Idempotency-Keys that the forms carry. ``NAIVE=1`` serves Django's own ModelAdmin
and views instead, to show what the mixins prevent.

- ``/admin/``: `Counter` (a unique ``name``; a ``slug`` made from it on
  save, unique too, which the form does not check) and its change form; its
  changelist has an action of the app's own (add one to the count).
- ``/admin/counters/attachment/``: `Attachment`, a multipart form (a FileField), no
  unique field. ``/inlines-admin/``: the counter's change form with its `Tally` rows inline.
- ``/list-admin/``: the counters' changelist, its name, count and note edited in the list
  (``list_editable``), and actions of the app's own: reset the count, add one to it, and
  sum the counts (`unversioned_action`).
- A record named ``slow...`` takes half a second to save or delete: a second click comes
  while it runs.
- ``/counters/<pk>/edit`` (``UpdateView``) and ``/counters/new`` (``CreateView``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import django
from django.conf import settings

from tests.adapters.django_databases import database

NAIVE = os.environ.get("NAIVE") == "1"

_FORM_PAGE = (
    "<html><body><form method='post'>{% csrf_token %}{{ form.as_p }}"
    "<button>save</button></form></body></html>"
)

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only",  # noqa: S106  # a test project
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "tests.adapters.counters_app.CountersConfig",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    ("django.template.loaders.locmem.Loader", {"counter_form.html": _FORM_PAGE}),
                    "django.template.loaders.app_directories.Loader",
                ],
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ],
            },
        }
    ],
    DATABASES={"default": database(os.environ["COUNTERS_DATABASE"], immediate=True)},
    # In the session, not in a cookie: a double click's second answer, replayed, sets
    # no cookie, and the browser shows that one ("added successfully" was lost).
    MESSAGE_STORAGE="django.contrib.messages.storage.session.SessionStorage",
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    # Tables made from the models as they are (`migrate --run-syncdb`), as Django's test
    # runner does with MIGRATE False: replaying contrib's 18 migrations cost each fresh
    # database 1-1.5 s of CPU (their states rendered) and, on MariaDB, seconds of DDL.
    MIGRATION_MODULES=dict.fromkeys(
        ("admin", "auth", "contenttypes", "sessions", "messages", "counters")
    ),
    USE_TZ=True,
    # The admin's scripts and styles, as a browser loads them (StaticFilesHandler serves them).
    STATIC_URL="/static/",
    # The uploads of `Attachment` (a FileField): the keys' file's directory.
    MEDIA_ROOT=os.path.join(os.path.dirname(os.environ["COUNTERS_KEYS"]), "media"),
    # A 500's traceback in the server's log (Django without LOGGING prints none).
    LOGGING={
        "version": 1,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
    },
)
django.setup()

from django.contrib import admin  # noqa: E402
from django.db import models  # noqa: E402
from django.db.models import F  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.text import slugify  # noqa: E402
from django.views.generic.edit import CreateView, UpdateView  # noqa: E402

from httpconflict.django.forms import (  # noqa: E402
    FORM_KEY_FIELD,
    VersionedAdminMixin,
    VersionedEditViewMixin,
    unversioned_action,
)
from httpconflict.storage.idempotency import idempotency_store  # noqa: E402
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy, cookie_principal  # noqa: E402


def _slow(name: str) -> None:
    """A save or delete of a record named "slow...": half a second; a second click comes then."""
    if name.startswith("slow"):
        time.sleep(0.5)


class Counter(models.Model):  # type: ignore[misc]
    name = models.CharField(max_length=100, unique=True)
    count = models.IntegerField(default=0)
    note = models.CharField(max_length=200, blank=True, default="")
    # Made from the name on save, and not in the forms: their unique checks miss it.
    slug = models.SlugField(max_length=100, unique=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        app_label = "counters"

    def __str__(self) -> str:
        return str(self.name)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.slug = slugify(self.name)
        _slow(self.name)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        _slow(self.name)
        return super().delete(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return f"/counters/{self.pk}/edit"


class Attachment(models.Model):  # type: ignore[misc]
    """A file and its title: a multipart admin form, and no unique field to stop a second row."""

    title = models.CharField(max_length=100)
    file = models.FileField(upload_to="attachments")
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        app_label = "counters"

    def __str__(self) -> str:
        return str(self.title)

    def save(self, *args: Any, **kwargs: Any) -> None:
        _slow(self.title)
        super().save(*args, **kwargs)


class Tally(models.Model):  # type: ignore[misc]
    """A line of a counter, edited inline in its change form."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE)
    text = models.CharField(max_length=100)

    class Meta:
        app_label = "counters"


@admin.action(description="Reset the count")  # type: ignore[untyped-decorator]
def reset_counts(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    """An action of the app's own: each selected counter's count set to 0."""
    done = queryset.update(count=0)
    modeladmin.message_user(request, f"Reset {done} counter{'' if done == 1 else 's'}.")


@admin.action(description="Add one to the count")  # type: ignore[untyped-decorator]
def increment_counts(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    """An action of the app's own: each selected counter's count + 1, in SQL."""
    done = queryset.update(count=F("count") + 1)
    modeladmin.message_user(request, f"Incremented {done} counter{'' if done == 1 else 's'}.")


@admin.action(description="Sum the counts")  # type: ignore[untyped-decorator]
@unversioned_action
def sum_counts(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    """An action that writes nothing: done on the keys selected, whatever their versions."""
    total = sum(row.count for row in queryset)
    modeladmin.message_user(request, f"The counts selected add up to {total}.")


class CounterAdmin(VersionedAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    fields = ("name", "count", "note")
    actions = (increment_counts,)  # held at the versions the list showed


class CounterUpdate(VersionedEditViewMixin, UpdateView):  # type: ignore[misc]
    model = Counter
    fields = ("name", "count", "note")
    template_name = "counter_form.html"


class CounterCreate(VersionedEditViewMixin, CreateView):  # type: ignore[misc]
    model = Counter
    fields = ("name", "count", "note")
    template_name = "counter_form.html"


# NAIVE=1: Django's own, to show what the mixins prevent.
class NaiveUpdate(UpdateView):  # type: ignore[misc]
    model = Counter
    fields = ("name", "count", "note")
    template_name = "counter_form.html"


class NaiveCreate(CreateView):  # type: ignore[misc]
    model = Counter
    fields = ("name", "count", "note")
    template_name = "counter_form.html"


admin.site.register(Counter, admin.ModelAdmin if NAIVE else CounterAdmin)


class AttachmentAdmin(VersionedAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    fields = ("title", "file")


admin.site.register(Attachment, admin.ModelAdmin if NAIVE else AttachmentAdmin)


class TallyInline(admin.TabularInline):  # type: ignore[misc]
    model = Tally
    extra = 1


class InlinesAdmin(VersionedAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    """Tallies edited in the counter's change form, which can be saved as a new counter."""

    fields = ("name", "count", "note")
    inlines = (TallyInline,)
    save_as = True


inlines_site = admin.AdminSite(name="inlines")
inlines_site.register(Counter, InlinesAdmin)


class FieldsetsAdmin(VersionedAdminMixin, admin.ModelAdmin):  # type: ignore[misc]
    """Fieldsets of its own, and the version shown read-only: its hidden field is still sent."""

    fieldsets = ((None, {"fields": (("name", "count"), "note")}),)
    readonly_fields = ("version",)


fieldsets_site = admin.AdminSite(name="fieldsets")
fieldsets_site.register(Counter, FieldsetsAdmin)


class ListColumns:
    """The counters' changelist: name, count and note edited in the list (``list_editable``)."""

    list_display = ("id", "name", "count", "note")
    list_display_links = ("id",)
    list_editable = ("name", "count", "note")
    actions = (reset_counts, increment_counts, sum_counts)


class ListEditableAdmin(VersionedAdminMixin, ListColumns, admin.ModelAdmin):  # type: ignore[misc]
    """Each row of the changelist saved over the version it showed."""


class NaiveListAdmin(ListColumns, admin.ModelAdmin):  # type: ignore[misc]
    """NAIVE=1: Django's own changelist, the same columns."""


list_editable_site = admin.AdminSite(name="list-editable")
list_editable_site.register(Counter, NaiveListAdmin if NAIVE else ListEditableAdmin)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("fieldsets-admin/", fieldsets_site.urls),
    path("inlines-admin/", inlines_site.urls),
    path("list-admin/", list_editable_site.urls),
    path("counters/<int:pk>/edit", (NaiveUpdate if NAIVE else CounterUpdate).as_view()),
    path("counters/new", (NaiveCreate if NAIVE else CounterCreate).as_view()),
    path("healthz", healthz),
]


def create_app() -> Any:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    call_command("migrate", run_syncdb=True, verbosity=0)  # every app's tables, unmigrated
    # The project's own, should syncdb not find them: its app has no models module.
    tables = connection.introspection.table_names()
    for model in (Counter, Attachment, Tally):
        if model._meta.db_table not in tables:
            with connection.schema_editor() as editor:
                editor.create_model(model)
    if not User.objects.filter(username="staff").exists():
        User.objects.create_superuser("staff", "staff@example.com", "staff")
    if not User.objects.filter(username="viewer").exists():
        # The change view is read-only to this user, with a Delete link. The app has no
        # models module: migrate made no permissions for its models.
        from django.contrib.auth.models import Permission
        from django.contrib.contenttypes.models import ContentType

        viewer = User.objects.create_user("viewer", "viewer@example.com", "viewer", is_staff=True)
        kind = ContentType.objects.get_for_model(Counter)
        for action in ("view", "delete"):
            allowed, _ = Permission.objects.get_or_create(
                codename=f"{action}_counter", content_type=kind, defaults={"name": action}
            )
            viewer.user_permissions.add(allowed)
    connection.close()
    # A double-clicked Save: the forms' hidden key, read by the middleware, per session.
    policy = IdempotencyPolicy(
        methods=frozenset({"POST"}),
        form_field=FORM_KEY_FIELD,
        principal=cookie_principal("sessionid"),
    )
    store = idempotency_store(os.environ["COUNTERS_KEYS"])
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    app = StaticFilesHandler(get_wsgi_application())
    return IdempotencyMiddleware(app, store=store, policy=policy)
