"""Every adapter's read says how a cache may keep it, and its 304 repeats what its 200 says.

A read with a validator and no Cache-Control of the app's says
``no-cache`` (a shared cache keeps it past a PUT through it otherwise:
tests/caching/test_library_reads.py), or what the adapter is told, or
nothing (``None``); an app's own Cache-Control is never changed; a 304
repeats the ETag, Cache-Control, Vary, Content-Location, Date and Expires
of its 200 (RFC 9110 §15.4.5) where the adapter sees the 200 (middleware),
and the ETag and the Cache-Control it is named where it answers before
the view runs (decorators, ``check``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

import httpx
import pytest
from werkzeug.test import Client

from tests.adapters import caching_apps
from tests.adapters.caching_apps import DEFAULT, OWN, OWN_FIELDS
from tests.adapters.test_conditional_table import configure_django

#: (status, header fields in lower case) of one answer to GET path with If-None-Match or not.
Send = Callable[[str, bool], tuple[int, dict[str, str]]]
#: Builds an adapter's app for a cache_control choice; returns its Send.
Build = Callable[[str | None], Send]

#: Those that see the app's fields before their 304: it repeats them (FastAPI's ``check``,
#: those set on the handler's answer before it).
MIDDLEWARE: Final = ("asgi", "wsgi", "flask", "fastapi", "fastapi-check", "django-middleware")
#: Those that answer 304 before the view: the Cache-Control they are named.
BEFORE_THE_VIEW: Final = ("flask-conditional", "django-conditional", "drf")
CUSTOM: Final = "max-age=0, must-revalidate"


def _fields(pairs: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in pairs}


def _asgi(app: Any) -> Send:
    async def get(path: str, conditional: bool) -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://read") as client:
            headers = {"If-None-Match": '"v2"'} if conditional else {}
            return await client.get(path, headers=headers)

    def send(path: str, conditional: bool) -> tuple[int, dict[str, str]]:
        answer = asyncio.run(get(path, conditional))
        return answer.status_code, _fields(answer.headers.multi_items())

    return send


def _wsgi(app: Any) -> Send:
    client = Client(app)

    def send(path: str, conditional: bool) -> tuple[int, dict[str, str]]:
        headers = {"If-None-Match": '"v2"'} if conditional else {}
        answer = client.get(path, headers=headers)
        return answer.status_code, _fields(answer.headers.items())

    return send


def _django(view: Any) -> Send:
    from django.test import RequestFactory

    factory = RequestFactory()

    def send(path: str, conditional: bool) -> tuple[int, dict[str, str]]:
        headers = {"If-None-Match": '"v2"'} if conditional else {}
        response = view(factory.get(path, headers=headers), name=path.strip("/"))
        if hasattr(response, "render"):
            response.render()
        return response.status_code, _fields(response.items())

    return send


def both(send: Send, path: str) -> tuple[tuple[int, dict[str, str]], ...]:
    """The answer to a GET of `path`, then to one with If-None-Match naming its ETag."""
    return send(path, False), send(path, True)


@pytest.fixture(scope="module")
def adapters() -> dict[str, Build]:
    configure_django()
    from tests.adapters import caching_django

    return {
        "asgi": lambda c: _asgi(caching_apps.asgi_app(c)),
        "wsgi": lambda c: _wsgi(caching_apps.wsgi_app(c)),
        "flask": lambda c: _wsgi(caching_apps.flask_app(c)),
        "flask-conditional": lambda c: _wsgi(caching_apps.flask_decorated_app(c)),
        "fastapi": lambda c: _asgi(caching_apps.fastapi_app(c)),
        "fastapi-check": lambda c: _asgi(caching_apps.fastapi_app(c, checked=True)),
        "django-conditional": lambda c: _django(caching_django.decorated(c)),
        "django-middleware": lambda c: _django(caching_django.middleware(c)),
        "drf": lambda c: _django(caching_django.viewset(c)),
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        pytest.param(DEFAULT, "no-cache", id="rfc9111-5.2.2.4-no-cache-by-default"),
        pytest.param(CUSTOM, CUSTOM, id="another-default-chosen"),
        pytest.param(None, None, id="opted-out-nothing-said"),
    ],
)
@pytest.mark.parametrize("adapter", MIDDLEWARE + BEFORE_THE_VIEW)
def test_a_read_without_cache_control_says_the_default_on_its_200_and_its_304(
    adapters: dict[str, Build], adapter: str, choice: str | None, expected: str | None
) -> None:
    """The app says nothing of caching: the 200 and the 304 both say the adapter's choice."""
    (status, full), (not_modified, repeated) = both(adapters[adapter](choice), "/plain")
    assert (status, not_modified) == (200, 304)
    assert (full.get("cache-control"), repeated.get("cache-control")) == (expected, expected)
    assert repeated["etag"] == '"v2"'


@pytest.mark.parametrize("adapter", MIDDLEWARE)
def test_the_apps_own_fields_are_kept_and_repeated_by_the_304(
    adapters: dict[str, Build], adapter: str
) -> None:
    """§15.4.5: the 304 repeats ETag, Cache-Control, Vary, Content-Location, Date, Expires."""
    (status, full), (not_modified, repeated) = both(adapters[adapter](DEFAULT), "/own")
    assert (status, full["cache-control"], not_modified) == (200, OWN, 304)
    assert repeated == {name.lower(): value for name, value in OWN_FIELDS.items()}


@pytest.mark.parametrize("adapter", BEFORE_THE_VIEW)
def test_a_304_made_before_the_view_says_the_cache_control_the_app_names(
    adapters: dict[str, Build], adapter: str
) -> None:
    """The app names its own Cache-Control: its 200 keeps it, its 304 says it too."""
    (status, full), (not_modified, repeated) = both(adapters[adapter](OWN), "/own")
    assert (status, full["cache-control"]) == (200, OWN)
    assert (not_modified, repeated) == (304, {"etag": '"v2"', "cache-control": OWN})
