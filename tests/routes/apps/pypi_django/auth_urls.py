"""django.contrib.auth's login, logout and password views."""

from django.urls import include, path

urlpatterns = [path("accounts/", include("django.contrib.auth.urls"))]
