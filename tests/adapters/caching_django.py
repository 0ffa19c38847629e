"""caching_apps.py's resource served by Django three ways, called in-process.

Imported only once Django's settings are configured
(`test_conditional_table.configure_django`).
"""

from __future__ import annotations

from typing import Any, Final

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import decorator_from_middleware
from rest_framework import serializers, viewsets
from rest_framework.renderers import JSONRenderer

from httpconflict import Validators
from httpconflict.django import ConditionalGetMiddleware, conditional
from httpconflict.django.rest_framework import ConditionalModelMixin
from tests.adapters.caching_apps import DEFAULT, ETAG, chosen, fields_of

View = Any


def _answer(name: str) -> HttpResponse:
    response = HttpResponse(b"{}", content_type="application/json")
    for field, value in fields_of(name).items():
        response[field] = value
    return response


def decorated(cache_control: str | None) -> View:
    @conditional(lambda request, name: Validators(ETAG), **chosen(cache_control))
    def view(request: HttpRequest, name: str) -> HttpResponseBase:
        return _answer(name)

    return view


def middleware(cache_control: str | None) -> View:
    class Chosen(ConditionalGetMiddleware):
        pass

    if cache_control != DEFAULT:
        Chosen.cache_control = cache_control

    @decorator_from_middleware(Chosen)  # type: ignore[untyped-decorator]
    def view(request: HttpRequest, name: str) -> HttpResponseBase:
        return _answer(name)

    return view


class _Item:
    pk = 1
    version = 2


class _Serializer(serializers.Serializer):  # type: ignore[misc]
    pass


def viewset(cache_control: str | None) -> View:
    class Items(ConditionalModelMixin, viewsets.GenericViewSet):  # type: ignore[misc]
        serializer_class = _Serializer
        renderer_classes: Final = [JSONRenderer]
        authentication_classes: Final[list[Any]] = []
        permission_classes: Final[list[Any]] = []

        def get_object(self) -> _Item:
            return _Item()

        def validators(self, instance: Any) -> Validators:
            return Validators(ETAG)

        def perform_authentication(self, request: Any) -> None:
            pass

        @property
        def default_response_headers(self) -> dict[str, str]:
            return {}

    if cache_control != DEFAULT:
        Items.read_cache_control = cache_control
    return Items.as_view({"get": "retrieve"})
