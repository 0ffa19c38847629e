"""The same pages with no prefix for the default language (``prefix_default_language=False``):
then they meet the routes outside i18n_patterns on the same paths."""

from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from .. import django_views as views

urlpatterns = [
    # takes /about/ before the page under i18n_patterns, in the default language
    path("<slug:page>/", views.post, name="page"),
    *i18n_patterns(
        path("about/", views.about, name="about"),
        prefix_default_language=False,
    ),
]
