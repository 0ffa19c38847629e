"""The API: viewsets made conflict-correct by httpconflict's mixin.

`ConditionalModelMixin` gives notes and users their ETag (the version),
304 on GET, and If-Match on PUT, PATCH and DELETE (428 without it, 412
when stale), checked in the UPDATE statement itself.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import mixins, viewsets

from httpconflict.django.rest_framework import ConditionalModelMixin

from .models import Note, Order, User
from .serializers import NoteSerializer, OrderSerializer, UserSerializer


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


class UserViewSet(ConditionalModelMixin, viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = User.objects.all()
    serializer_class = UserSerializer


class NoteViewSet(ConditionalModelMixin, viewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Note.objects.all()
    serializer_class = NoteSerializer


class OrderViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[misc]
    """Orders are created once per Idempotency-Key: see asgi.py."""

    queryset = Order.objects.all()
    serializer_class = OrderSerializer

    def get_success_headers(self, data: Any) -> dict[str, str]:
        return {"Location": f"/v1/orders/{data['id']}"}
