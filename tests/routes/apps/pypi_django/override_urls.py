"""healthchecks' URLconf shape: its own login view put before the admin's, on purpose.

``admin/login/`` is declared first so that the admin's own login page is
never served: a true finding, and a deliberate one, which the project
accepts in its pyproject.toml.
"""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path


def login(request: HttpRequest) -> HttpResponse:
    return HttpResponse("our login")


urlpatterns = [
    path("admin/login/", login),
    path("admin/", admin.site.urls),
]
