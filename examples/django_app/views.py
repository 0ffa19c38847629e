"""The API: viewsets made conflict-correct by httpconflict's mixin.

`ConditionalModelMixin` gives notes and users their ETag (the version),
304 on GET, and If-Match on PUT, PATCH and DELETE (428 without it, 412
when stale), checked in the UPDATE statement itself. An order's answer is
recorded under its Idempotency-Key in the order's own transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import mixins, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from httpconflict.asgi import active_claim
from httpconflict.django import record_answer
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


class OrderViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[misc]
    """Orders are created once per Idempotency-Key: the answer commits with the order."""

    queryset = Order.objects.all()
    serializer_class = OrderSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            order = serializer.save()
            answer = HttpResponse(
                JSONRenderer().render(serializer.data),
                status=201,
                content_type="application/json",
                headers={"Location": f"/v1/orders/{order.id}"},
            )
            claim = active_claim(request.scope)  # see asgi.py
            record_answer(claim, answer.status_code, answer.items(), answer.content)
        return answer
