"""Patterns that look alike, none of which takes another's paths."""

from __future__ import annotations

from django.urls import include, path, re_path

from .. import django_views as views

blog_patterns = [path("<slug:slug>/", views.entry, name="entry")]

urlpatterns = [
    path("", views.Home.as_view(), name="home"),
    # int cannot match "me"
    path("users/<int:pk>/", views.user),
    path("users/me/", views.me),
    # a regex that does not match the literal path
    re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive),
    path("archive/latest/", views.latest_archive),
    # a uuid cannot match "new"
    path("orders/<uuid:pk>/", views.order),
    path("orders/new/", views.new_order),
    # a slug has no dot: feed.xml/ is not an entry
    path("blog/", include((blog_patterns, "blog"), namespace="blog")),
    path("blog/feed.xml/", views.feed),
    # a regex against a parameter: undecidable, so not reported
    path("tags/<int:pk>/", views.tag),
    re_path(r"^tags/(?P<name>[a-z]+)/$", views.tag_by_name),
]
