"""django-allauth: accounts, e-mail, password reset, social accounts with a GitHub provider."""

from django.urls import include, path

urlpatterns = [path("accounts/", include("allauth.urls"))]
