"""DRF's DefaultRouter and SimpleRouter over a viewset with list and detail actions.

``users/me/`` (a list action) and ``users/{pk}/`` share a prefix: the
router must put the action first, or "me" would be taken as a pk.
"""

from django.contrib.auth.models import User
from django.urls import include, path
from rest_framework import routers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response


class UserSerializer(serializers.ModelSerializer):  # type: ignore[misc]  # DRF ships no types
    class Meta:
        model = User
        fields = ("id", "username")


class UserViewSet(viewsets.ModelViewSet):  # type: ignore[misc]  # DRF ships no types
    queryset = User.objects.all()
    serializer_class = UserSerializer

    @action(detail=False)  # type: ignore[untyped-decorator]  # DRF ships no types
    def me(self, request: Request) -> Response:
        return Response(self.get_serializer(request.user).data)

    @action(detail=True, methods=["post"])  # type: ignore[untyped-decorator]  # likewise
    def set_password(self, request: Request, pk: str | None = None) -> Response:
        return Response(status=204)


default = routers.DefaultRouter()
default.register("users", UserViewSet)
simple = routers.SimpleRouter(trailing_slash=False)
simple.register("accounts", UserViewSet, basename="account")

urlpatterns = [
    path("api/", include(default.urls)),
    path("simple/", include(simple.urls)),
]
