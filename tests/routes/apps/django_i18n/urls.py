"""Pages behind a language prefix, as wger serves most of its site (``/en/dashboard``).

wger showed that every route under ``i18n_patterns()`` was read as an
opaque pattern, compared with nothing but its own duplicate: the
shadowed login page below went unreported.
"""

from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from .. import django_views as views

urlpatterns = [
    path("api/check/", views.about, name="check"),
    # takes /en/help/ from the page under i18n_patterns, which /de/help/ still reaches
    path("en/help/", views.about_v2, name="help-en"),
    *i18n_patterns(
        path("dashboard", views.Home.as_view(), name="dashboard"),
        # shadowed: <str:name> takes "login", in every language
        path("user/<str:name>", views.user, name="profile"),
        path("user/login", views.me, name="login"),
        # served: int refuses "add"
        path("language/<int:pk>/view", views.item, name="language-view"),
        path("language/add", views.item_v2, name="language-add"),
        path("help/", views.latest_posts, name="help"),
    ),
]
