"""``re_path()`` routes with parameters, named and not, in the shapes real sites write.

DRF's routers write ``^documents/(?P<pk>[^/.]+)/$`` and, for the format
suffixes, ``^documents/(?P<pk>[^/.]+)\\.(?P<format>[a-z0-9]+)/?$``;
paperless-ngx ``^fetch/(?P<kind>doc|thumb|preview)/(?P<pk>\\d+)$``;
HyperKitty ``^list/(?P<mlist_fqdn>[^/@]+@[^/@]+)/$``. Such routes were
compared with literal paths only, so none of the eight findings here was
reported. django-wiki sends ``<id>/plugin/<slug>/`` to a view that calls
the plugin's own ``article_view`` before the images plugin's index is
tried, under ``re_path(r"", include(...))``: that empty regex, which
Django searches for, matched as no prefix, was kept whole. Its article
paths, ``^(?P<path>.+/|)_edit/$``, take ``_edit/`` and every path
ending in ``/_edit/``: kept whole, they were compared with literal paths
only, so the ``<slug:page>/_edit/`` they take was not reported; nor was
a plugin's index under ``re_path(r"^(?P<path>.+/|)_plugin/images/",
include(...))`` that ``(?P<path>.+/|)_plugin/(?P<slug>\\w+)/`` takes.
"""

from __future__ import annotations

from django.urls import include, path, re_path

from .. import django_views as views

versioned = [
    re_path(r"^items/(?P<pk>[^/.]+)/$", views.item, name="item"),
    re_path(r"^items/(?P<pk>[^/.]+)\.(?P<format>[a-z0-9]+)/?$", views.item, name="item"),
]

urlpatterns = [
    # DRF's detail route takes every int, slug and uuid segment: these two are never served
    re_path(r"^documents/(?P<pk>[^/.]+)/$", views.entry, name="document-detail"),
    path("documents/<int:pk>/", views.item_v2, name="document-by-id"),
    path("documents/<slug:slug>/", views.latest_archive, name="document-by-slug"),
    # served: a format suffix holds a ".", which [^/.]+ does not take
    re_path(
        r"^documents/(?P<pk>[^/.]+)\.(?P<format>[a-z0-9]+)/?$",
        views.entry,
        name="document-detail",
    ),
    # a str converter takes every digit run
    path("tags/<str:name>/", views.tag, name="tag"),
    re_path(r"^tags/(?P<pk>\d+)/$", views.tag_by_name, name="tag-by-id"),  # never served
    # the same regex but for its groups' names
    re_path(r"^fetch/(?P<kind>doc|thumb|preview)/(?P<pk>\d+)$", views.feed, name="fetch"),
    re_path(r"^fetch/(?P<what>doc|thumb|preview)/(?P<id>\d+)$", views.archive),  # never served
    # served: "new" holds no "@"; "7" is no "doc"; a positional group
    re_path(r"^list/(?P<mlist_fqdn>[^/@]+@[^/@]+)/$", views.user, name="list"),
    path("list/new/", views.me, name="list-new"),
    path("fetch/other/<int:pk>", views.order, name="fetch-other"),
    re_path(r"^archive/(\d{4})/$", views.new_order, name="year"),
    path("archive/latest/", views.latest_posts, name="latest"),
    # under an include() whose prefix has a parameter
    re_path(r"^api/(?P<version>v1|v2)/", include(versioned)),
    re_path(r"^(?P<article_id>[0-9]+)/plugin/(?P<slug>\w+)/$", views.post, name="plugin"),
    re_path(
        r"^(?P<article_id>[0-9]+)/plugin/images/",
        include([re_path(r"", include([re_path(r"^$", views.archive, name="images")]))]),
    ),
    path("api/v1/items/<int:pk>/", views.about_v2, name="item-v1"),  # never served
    path("api/v3/items/<int:pk>/", views.about, name="item-v3"),
    # the same regex as a converter's, which converts what it matched without refusing any
    re_path(r"^numbers/(?P<pk>[0-9]+)/$", views.tag, name="number"),
    path("numbers/<int:pk>/", views.tag_by_name, name="number-by-int"),  # never served
    re_path(r"^words/(?P<word>[-a-zA-Z0-9_]+)/$", views.tag, name="word"),
    path("words/<slug:word>/", views.tag_by_name, name="word-by-slug"),  # never served
    # a wider class than the converter's regex: every uuid and int is [-\w]+ and \d+
    re_path(r"^checks/(?P<code>[-\w]+)/pings/(?P<n>\d+)/$", views.tag, name="pings"),
    path("checks/<uuid:code>/pings/<int:n>/", views.tag_by_name, name="pings-by-uuid"),  # never
    re_path(r"^keys/(?P<code>[0-9a-fA-F-]{36})/remove/$", views.item, name="key-remove"),
    path("keys/<uuid:code>/remove/", views.item_v2, name="key-remove-uuid"),  # never served
    # served: a slug may hold letters past f, which [0-9a-f]+ does not take
    re_path(r"^hex/(?P<value>[0-9a-f]+)/$", views.archive, name="hex"),
    path("hex/<slug:value>/", views.latest_archive, name="hex-slug"),
    # django-wiki's article paths: an optional group of whole segments, or none
    re_path(r"^(?P<path>.+/|)_edit/$", views.order, name="edit"),
    path("<slug:page>/_edit/", views.new_order, name="page-edit"),  # never served
    re_path(r"^(?P<path>.+/|)_history/(?P<rev>[0-9]+)/$", views.latest_posts, name="history"),
    path("<slug:page>/_history/", views.about, name="page-history"),  # served
    # its plugins, were they tried after the plugin view: an include() under the optional
    # group, which Django matches once, greedily
    re_path(r"^(?P<path>.+/|)_plugin/(?P<slug>\w+)/$", views.feed, name="plugin-by-path"),
    re_path(
        r"^(?P<path>.+/|)_plugin/images/",
        include([re_path(r"^$", views.item_v2, name="images-by-path")]),
    ),  # never served
]
