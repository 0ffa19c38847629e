"""Wagtail's page tree before the routes after it: most of them are never served.

Wagtail serves its pages with ``re_path(r"^((?:[\\w\\-]+/)*)$", serve)``
(``wagtail.urls``): any path of segments of letters, digits, ``_`` and
``-``, each followed by a slash. A site that includes ``wagtail_urls``
before its API (Wagtail's bakerydemo did) never serves the API's routes
whose segments are all such text: its own ``api/v2/pages/`` and
``<int:pk>/``, a ``<uuid:...>`` and a ``<slug:...>`` alike. Served: a
path without its trailing slash, a ``<str:...>`` segment (which may hold a
``.``), a ``<path:...>``, and a segment holding a ``.``.
"""

from __future__ import annotations

from django.urls import path, re_path

from .. import django_views as views

urlpatterns = [
    re_path(r"^((?:[\w\-]+/)*)$", views.about, name="wagtail_serve"),
    # never served: every segment is [\w-]+ text, and the path ends with a slash
    path("api/v2/pages/", views.latest_posts, name="pages"),
    path("api/v2/pages/<int:pk>/", views.item, name="page"),
    path("api/v2/images/<uuid:code>/", views.item_v2, name="image"),
    path("blog/<slug:slug>/feed/", views.feed, name="blog-feed"),
    # served
    path("api/v2/pages", views.archive, name="pages-no-slash"),
    path("users/<str:name>/", views.user, name="user"),
    path("files/<path:rest>", views.entry, name="file"),
    path("sitemap.xml/", views.tag, name="sitemap"),
]
