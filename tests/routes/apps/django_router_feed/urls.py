"""The RealWorld DRF app's URLconf shape (gothinkster/django-realworld-example-app).

Its ``DefaultRouter(trailing_slash=False)`` is included first, so the
articles' detail route ``^articles/(?P<slug>[^/.]+)$`` is tried before
``^articles/feed/?$``: ``GET /api/articles/feed``, the spelling the
RealWorld spec uses, is the article whose slug is "feed" (a 404), and
only ``/api/articles/feed/`` reaches the feed. ``httpconflict routes``
found nothing, since the feed route is served at one of its spellings.
The routes after it are served at every spelling.
"""

from __future__ import annotations

from django.urls import include, re_path

from .. import django_views as views

router = [
    re_path(r"^articles$", views.archive, name="article-list"),
    re_path(r"^articles/(?P<slug>[^/.]+)$", views.entry, name="article-detail"),
]

articles = [
    re_path(r"^", include(router)),
    re_path(r"^articles/feed/?$", views.feed),  # /articles/feed: never served
    re_path(r"^articles/(?P<article_slug>[-\w]+)/favorite/?$", views.post),  # served
    re_path(r"^tags/?$", views.tag),  # served
]

urlpatterns = [re_path(r"^api/", include(articles))]
