"""A viewset whose own actions replace ConditionalModelMixin's is told so when it is defined.

The RealWorld DRF app (gothinkster/django-realworld-example-app) composes
its ``ArticleViewSet`` of REST framework's mixins and writes its own
``retrieve`` and ``update`` (to read the ``{"article": {...}}`` envelope).
Put ``ConditionalModelMixin`` first in its bases, as docs/django.md says,
and those methods still win: its GETs sent no ETag and its PUTs checked no
If-Match; 10 clients x 20 read-and-increment PUTs lost 167 of 200, and
nothing said why. The mixin now logs a warning for each action a class
replaces without calling it.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest


def _configure_django() -> None:
    """Django settings for in-process classes, unless another test module configured them."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=True)
        django.setup()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "httpconflict"]


def test_own_actions_that_never_call_the_mixin_are_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _configure_django()
    from rest_framework import mixins, viewsets

    from httpconflict.django.rest_framework import ConditionalModelMixin

    with caplog.at_level(logging.WARNING, logger="httpconflict"):

        class ArticleViewSet(  # the RealWorld app's shape
            ConditionalModelMixin,
            mixins.CreateModelMixin,  # type: ignore[misc]
            mixins.ListModelMixin,  # type: ignore[misc]
            mixins.RetrieveModelMixin,  # type: ignore[misc]
            viewsets.GenericViewSet,  # type: ignore[misc]
        ):
            def retrieve(self, request: Any, slug: str) -> Any:
                return None

            def update(self, request: Any, slug: str) -> Any:
                return None

    said = _warnings(caplog)
    assert len(said) == 2, said
    retrieve, update = sorted(said)
    assert "ArticleViewSet.retrieve" in retrieve, retrieve
    assert "ETag" in retrieve, retrieve
    assert "ArticleViewSet.update" in update, update
    assert "If-Match" in update, update
    assert "test_drf_own_actions.py:" in update  # where it is
    assert "versioned_update" in update  # what to do


def test_own_actions_that_write_with_the_helpers_are_not_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The adopted RealWorld viewset: its own update (for the envelope) writes with
    versioned_update inside a closure, its retrieve tags the answer with etag_of."""
    _configure_django()
    from rest_framework import mixins, viewsets

    from httpconflict.django import etag_of, versioned_update
    from httpconflict.django.rest_framework import ConditionalModelMixin

    with caplog.at_level(logging.WARNING, logger="httpconflict"):

        class ArticleViewSet(
            ConditionalModelMixin,
            mixins.RetrieveModelMixin,  # type: ignore[misc]
            viewsets.GenericViewSet,  # type: ignore[misc]
        ):
            def retrieve(self, request: Any, slug: str) -> Any:
                return etag_of(self.get_object())

            def update(self, request: Any, slug: str) -> Any:
                def write() -> Any:
                    return versioned_update(self.get_queryset(), slug, {}, request)

                return write()

    assert _warnings(caplog) == []


def test_actions_that_call_the_mixin_or_come_after_it_are_not_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _configure_django()
    from rest_framework import viewsets

    from httpconflict.django.rest_framework import ConditionalModelMixin

    with caplog.at_level(logging.WARNING, logger="httpconflict"):

        class Logged(ConditionalModelMixin, viewsets.ModelViewSet):  # type: ignore[misc]
            def update(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                return super().update(request, *args, **kwargs)

        class Plain(ConditionalModelMixin, viewsets.ModelViewSet):  # type: ignore[misc]
            pass

        class Sub(Logged):  # inherits an override already judged
            pass

    assert _warnings(caplog) == []


def test_the_mixin_after_the_viewset_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    """Second in the bases, REST framework's own actions come first: nothing is conditional."""
    _configure_django()
    from rest_framework import viewsets

    from httpconflict.django.rest_framework import ConditionalModelMixin

    with caplog.at_level(logging.WARNING, logger="httpconflict"):

        class Late(viewsets.ModelViewSet, ConditionalModelMixin):  # type: ignore[misc]
            pass

    said = _warnings(caplog)
    assert len(said) == 1, said
    assert "first in the bases" in said[0], said
