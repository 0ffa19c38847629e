"""Views for the Django test sites: each answers its own name."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.views import View


def user(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("user")


def me(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("me")


def about(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("about")


def about_v2(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("about_v2")


def post(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("post")


def latest_posts(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("latest_posts")


def item(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("item")


def item_v2(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("item_v2")


def archive(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("archive")


def latest_archive(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("latest_archive")


def order(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("order")


def new_order(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("new_order")


def entry(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("entry")


def feed(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("feed")


def tag(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("tag")


def tag_by_name(request: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("tag_by_name")


class Home(View):  # type: ignore[misc]  # Django ships no types
    """A class-based view: the report names the class."""

    def get(self, request: Any) -> HttpResponse:
        return HttpResponse("Home")
