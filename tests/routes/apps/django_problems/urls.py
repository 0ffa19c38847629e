"""Known problems, each named in a comment."""

from __future__ import annotations

from django.urls import include, path, re_path

from .. import django_views as views

api_patterns = [path("items/<int:pk>/", views.item, name="item")]

urlpatterns = [
    path("", views.Home.as_view(), name="home"),
    # shadowed: <str:name> takes "me"
    path("users/<str:name>/", views.user, name="user"),
    path("users/me/", views.me, name="me"),
    # duplicate: Django resolves the first whatever the method
    path("about/", views.about),
    path("about/", views.about_v2),
    # shadowed by a regex that matches the whole literal path
    re_path(r"^posts/(?P<slug>[-\w]+)/$", views.post),
    path("posts/latest/", views.latest_posts),
    # duplicate across an include() with a namespace
    path("api/", include((api_patterns, "api"), namespace="api")),
    path("api/items/<int:pk>/", views.item_v2),
]
