"""/healthz and /v1/{users,notes,orders}[/{id}]."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import NoteViewSet, OrderViewSet, UserViewSet, healthz

router = SimpleRouter(trailing_slash=False)
router.register("v1/users", UserViewSet)
router.register("v1/notes", NoteViewSet)
router.register("v1/orders", OrderViewSet)

urlpatterns = [path("healthz", healthz), *router.urls]
