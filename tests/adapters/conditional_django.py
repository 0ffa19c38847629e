"""The resource of conditional_apps.py served by Django three ways, called in-process.

Imported only once Django's settings are configured (`configure_django`),
so it runs beside another module that configured them first. The views
are called directly with requests from Django's RequestFactory: no URL
configuration and no database are needed.

- `decorated`: ``@conditional(validators)`` on a plain view;
- `middleware`: a view that sets its own validators, behind
  ``ConditionalGetMiddleware`` (``decorator_from_middleware``);
- `viewset`: REST framework's ``ConditionalModelMixin.retrieve``.
"""

from __future__ import annotations

from typing import Any, Final

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.decorators import decorator_from_middleware
from rest_framework import serializers, viewsets
from rest_framework.renderers import JSONRenderer

from httpconflict import Validators
from httpconflict.django import ConditionalGetMiddleware, conditional
from httpconflict.django.rest_framework import ConditionalModelMixin, exception_handler
from tests.adapters.conditional_apps import RESOURCES, answer


def _validators(request: HttpRequest, name: str) -> Validators | None:
    return RESOURCES.get(name)


@conditional(_validators)
def decorated(request: HttpRequest, name: str) -> HttpResponseBase:
    if name not in RESOURCES:
        return JsonResponse({"error": "not here"}, status=404)
    return JsonResponse({"n": 1})


@decorator_from_middleware(ConditionalGetMiddleware)  # type: ignore[untyped-decorator]
def middleware(request: HttpRequest, name: str) -> HttpResponseBase:
    status, fields = answer(name)
    response = HttpResponse(b'{"n": 1}', status=status)
    for field, value in fields:
        response[field] = value
    return response


class Item:
    def __init__(self, name: str) -> None:
        self.name = name
        self.n = 1


class ItemSerializer(serializers.Serializer):  # type: ignore[misc]
    n = serializers.IntegerField()


class ItemViewSet(ConditionalModelMixin, viewsets.GenericViewSet):  # type: ignore[misc]
    """retrieve() as the mixin has it; only where the rows come from is the test's."""

    serializer_class = ItemSerializer
    renderer_classes: Final = [JSONRenderer]
    authentication_classes: Final[list[Any]] = []
    permission_classes: Final[list[Any]] = []

    def get_object(self) -> Item:
        name = self.kwargs["name"]
        if name not in RESOURCES:
            raise Http404(f"there is no {name}")
        return Item(name)

    def validators(self, instance: Any) -> Validators:
        return RESOURCES[instance.name]

    def etag_header(self, instance: Any) -> dict[str, str]:
        return {}  # retrieve() sets the ETag and Last-Modified of `validators`

    def perform_authentication(self, request: Any) -> None:
        pass  # no users here (django.contrib.auth is not installed)

    def get_exception_handler(self) -> Any:
        return exception_handler  # what REST_FRAMEWORK["EXCEPTION_HANDLER"] names in a project

    @property
    def default_response_headers(self) -> dict[str, str]:
        # REST framework adds Allow to every answer, a 304 included: its
        # business, not the table's.
        return {}


viewset = ItemViewSet.as_view({"get": "retrieve"})
