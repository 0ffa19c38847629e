"""The same pages with no prefix for the default language (``prefix_default_language=False``):
then they meet the routes outside i18n_patterns on the same paths."""

from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from .. import django_views as views

urlpatterns = [
    path("api/check/", views.about_v2, name="check"),
    # takes /about/ before the page under i18n_patterns in the default language only:
    # /de/about/ is still the page's (a finding here said it took no request)
    path("<slug:page>/", views.post, name="page"),
    *i18n_patterns(
        path("about/", views.about, name="about"),
        # shadowed in every language: the slug takes "new" under each prefix
        path("topics/<slug:topic>/", views.feed, name="topic"),
        path("topics/new/", views.me, name="new-topic"),
        prefix_default_language=False,
    ),
]
