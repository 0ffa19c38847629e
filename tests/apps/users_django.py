"""The users API of users.py as a Django project on MariaDB (USERS_MYSQL_DB).

One module is the whole project: settings, the model, the URLs and the
WSGI application. MariaDB's errors name an index without its table or
columns, so the middleware reads the catalog through Django's connection.
"""

from __future__ import annotations

import json
import os
from typing import Any

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["httpconflict.django.IntegrityErrorMiddleware"],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("USERS_MYSQL_DB", "test"),
            "USER": "root",
            "HOST": "127.0.0.1",
            "PORT": 3306,
            "ATOMIC_REQUESTS": True,
        }
    },
)
django.setup()

from django.db import connection, models  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


class User(models.Model):  # type: ignore[misc]
    email = models.CharField(max_length=100, null=True)
    handle = models.CharField(max_length=50, null=True)

    class Meta:
        app_label = "users"
        db_table = "users"
        managed = False


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


@csrf_exempt  # type: ignore[untyped-decorator]
def create_user(request: HttpRequest) -> HttpResponse:
    data = json.loads(request.body)
    user = User.objects.create(email=data.get("email"), handle=data.get("handle"))
    return JsonResponse({"id": user.pk, "email": user.email}, status=201)


def broken(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM missing_table")
    return HttpResponse(status=204)


def boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("Duplicate entry 'a@x' for key 'users_email_key'")


urlpatterns = [
    path("healthz", healthz),
    path("users", create_user),
    path("broken", broken),
    path("boom", boom),
]


def create_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS users (id INTEGER AUTO_INCREMENT PRIMARY KEY, "
            "email VARCHAR(100) NOT NULL, handle VARCHAR(50), "
            "CONSTRAINT users_email_key UNIQUE (email), UNIQUE INDEX ix_people_lookup (handle))"
        )
    return get_wsgi_application()
