"""Regex routes without ``^``, as Label Studio writes its version page.

Django searches for such a regex in what is left of the path, so
``re_path(r"version/", ...)`` takes every path holding ``version/``: the
admin's pages for a model whose name ends in "version" (Label Studio's
``thirdpartymodelversion``), and ``api/version/`` written after it; and
``re_path(r"^docs/")`` with no ``$`` every path that starts with ``docs/``.
Only the literal pages were reported; the ones with a parameter, and the
unanchored ``api/version/``, went unreported. A view's regex ending in
``$`` is matched with the whole path, ``^`` or not (Django 5): it was
compared with literal paths only. A regex with parameters and neither
anchor (``(?P<year>[0-9]{4})/notes/``) and an include()'s prefix without
``^`` (``blog/``) were compared with literal paths only: the routes with
parameters they take went unreported.
"""

from __future__ import annotations

from django.urls import include, path, re_path

from .. import django_views as views

urlpatterns = [
    re_path(r"^feed\.xml$", views.feed, name="feed"),
    re_path(r"version/", views.about, name="version"),
    # shadowed, every one: each path holds "version/"
    re_path(r"api/version/", views.about_v2, name="api-version"),
    path("admin/models/modelversion/", views.archive, name="changelist"),
    path("admin/models/modelversion/<path:object_id>/change/", views.item, name="change"),
    path("admin/models/modelversion/<int:pk>/history/", views.item_v2, name="history"),
    # an endpoint with no end anchor: every path starting with "docs/"
    re_path(r"^docs/", views.latest_posts, name="docs"),
    path("docs/<int:pk>/", views.latest_archive, name="doc"),  # shadowed
    # served: no "version/" in these paths, nor "docs/" at their start
    path("doc/<int:pk>/", views.new_order, name="doc-v1"),
    path("admin/models/model/<int:pk>/", views.order, name="model"),
    path("versions/<int:pk>/", views.entry, name="versions"),
    path("<slug:name>/", views.tag, name="tag"),
    # matched whole, "^" or not: Django matches a view's regex ending in "$" with the path
    re_path(r"(?P<name>[^/]+)/feed/$", views.user, name="feed-by-name"),
    path("<int:pk>/feed/", views.me, name="feed-by-id"),  # shadowed
    # searched for, with parameters: read as whole segments before it and anything after
    re_path(r"(?P<year>[0-9]{4})/notes/", views.about, name="notes"),
    # shadowed: every path holds a 4-digit year, then "/notes/"
    re_path(r"^journal/(?P<year>[0-9]{4})/notes/(?P<pk>[0-9]+)/$", views.post, name="note"),
    # shadowed: every path holds "version/", searched for above
    re_path(r"(?P<pk>[0-9]+)/version/", views.item, name="numbered-version"),
    # served: a path of it need not hold a 4-digit year before "/notes/"
    path("notes/<int:pk>/", views.tag_by_name, name="note-by-id"),
    # "^" and no "$", with a parameter: every path starting with files/<digits>/
    re_path(r"^files/(?P<pk>[0-9]+)/", views.latest_archive, name="file"),
    path("files/<int:pk>/raw/", views.order, name="file-raw"),  # shadowed
    path("files/<slug:name>/", views.new_order, name="file-by-name"),  # served: not all digits
    # an include() prefix with no "^", searched for: "blog/" first in the path is one of its
    re_path(r"blog/", include([path("<slug:slug>/", views.entry, name="post")])),
    path("blog/<slug:slug>/", views.archive, name="blog-post"),  # shadowed
]
