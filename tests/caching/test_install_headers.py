"""What ``install(app)`` says of caching on answers a view made itself, in every adapter.

A GET's or HEAD's 2xx (or 304) with an ETag or a Last-Modified and no
Cache-Control of the app's says ``no-cache``, as the library's read
helpers do (the core's `read_cache_control` decides); the app's own
Cache-Control, a write's answer, an answer with no validator and an
error are left as they are; ``install(app, read_cache_control=...)``
says another value, or nothing (None); in Django, whose ``install`` is
`ProblemMiddleware` in MIDDLEWARE, the ``HTTPCONFLICT_READ_CACHE_CONTROL``
setting. Before, Flask's and Starlette's ``install`` added nothing to a
view's own ETag, nor did Django's `ProblemMiddleware`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from werkzeug.test import Client

from httpconflict import ETag
from tests.adapters.test_conditional_table import configure_django

#: What the view answers: (status, header fields).
View = tuple[int, dict[str, str]]
#: (method, what the view answers) -> the Cache-Control answered
Ask = Callable[[str, View], str | None]

TAG = {"ETag": '"7"'}
DATE = {"Last-Modified": "Sat, 05 Dec 2026 10:00:00 GMT"}

CASES = [
    pytest.param("GET", (200, TAG), "no-cache", id="etag"),
    pytest.param("HEAD", (200, TAG), "no-cache", id="head"),
    pytest.param("GET", (200, DATE), "no-cache", id="last-modified-only"),
    pytest.param("GET", (304, TAG), "no-cache", id="the-apps-own-304-repeats-it"),
    pytest.param("GET", (200, {**TAG, "Cache-Control": "private"}), "private", id="own-private"),
    pytest.param("GET", (200, {**TAG, "Cache-Control": "max-age=60"}), "max-age=60", id="own-age"),
    pytest.param("GET", (200, {**TAG, "Cache-Control": "no-store"}), "no-store", id="own-no-store"),
    pytest.param("GET", (200, {}), None, id="no-validator"),
    pytest.param("GET", (404, TAG), None, id="not-a-2xx"),
    pytest.param("PUT", (200, TAG), None, id="a-write"),
    pytest.param("POST", (201, TAG), None, id="a-post"),
]


def flask_app(view: View, **options: Any) -> Any:
    from flask import Flask, Response

    from httpconflict.flask import install

    app = Flask(__name__)
    install(app, **options)

    @app.route("/r", methods=["GET", "PUT", "POST"])
    def answer() -> Response:
        status, headers = view
        return Response(b"" if status == 304 else b"{}", status=status, headers=headers)

    return app


def ask_flask(method: str, view: View, **options: Any) -> str | None:
    answer = Client(flask_app(view, **options)).open("/r", method=method)
    return answer.headers.get("Cache-Control")


def _response(view: View) -> Any:
    from starlette.responses import Response

    status, headers = view
    return Response(b"" if status == 304 else b"{}", status_code=status, headers=headers)


def starlette_app(view: View, **options: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from httpconflict.starlette import install

    def answer(request: Any) -> Any:
        return _response(view)

    app = Starlette(routes=[Route("/r", answer, methods=["GET", "PUT", "POST"])])
    install(app, **options)
    return app


def fastapi_app(view: View, **options: Any) -> Any:
    from fastapi import FastAPI

    from httpconflict.fastapi import install

    app = FastAPI()
    app.add_api_route("/r", lambda: _response(view), methods=["GET", "HEAD", "PUT", "POST"])
    install(app, **options)
    return app


def ask_asgi(app: Any, method: str) -> str | None:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, "/r")

    said: str | None = asyncio.run(send()).headers.get("Cache-Control")
    return said


def ask_starlette(method: str, view: View, **options: Any) -> str | None:
    return ask_asgi(starlette_app(view, **options), method)


def ask_fastapi(method: str, view: View, **options: Any) -> str | None:
    return ask_asgi(fastapi_app(view, **options), method)


def ask_django(method: str, view: View, **options: Any) -> str | None:
    """Django's `ProblemMiddleware` (its ``install``) around a view answering `view`."""
    configure_django()
    from django.http import HttpResponse
    from django.test import RequestFactory, override_settings

    from httpconflict.django import ProblemMiddleware

    def answer(request: Any) -> Any:
        status, headers = view
        body = b"" if status == 304 else b"{}"
        # JSON: an HTML error page would be one of Django's own, answered as a problem.
        return HttpResponse(body, status=status, headers=headers, content_type="application/json")

    setting = {}
    if "read_cache_control" in options:
        setting["HTTPCONFLICT_READ_CACHE_CONTROL"] = options["read_cache_control"]
    with override_settings(**setting):
        middleware = ProblemMiddleware(answer)
    said: str | None = middleware(RequestFactory().generic(method, "/r")).get("Cache-Control")
    return said


ADAPTERS = {
    "flask": ask_flask,
    "starlette": ask_starlette,
    "fastapi": ask_fastapi,
    "django": ask_django,
}


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize(("method", "view", "expected"), CASES)
def test_install_says_no_cache_on_a_views_own_validated_read(
    adapter: str, method: str, view: View, expected: str | None
) -> None:
    """A read the view tagged itself says no-cache under install, unless it says its own."""
    assert ADAPTERS[adapter](method, view) == expected


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        pytest.param(None, None, id="none-says-nothing"),
        pytest.param("private, no-cache", "private, no-cache", id="another-value"),
    ],
)
def test_install_read_cache_control_sets_or_turns_off_the_default(
    adapter: str, setting: str | None, expected: str | None
) -> None:
    """``install(app, read_cache_control=...)`` is said instead; None says nothing."""
    for method, status in (("GET", 200), ("GET", 304), ("HEAD", 200)):
        said = ADAPTERS[adapter](method, (status, TAG), read_cache_control=setting)
        assert said == expected, (method, status)


def test_fastapi_without_conditional_get_still_says_no_cache() -> None:
    """``install(app, conditional_get=False)`` still says no-cache on a tagged read."""
    assert ask_fastapi("GET", (200, TAG), conditional_get=False) == "no-cache"


@pytest.mark.parametrize("value", [None, "private, no-cache"])
def test_a_flask_helpers_own_setting_is_kept_under_install(value: str | None) -> None:
    """``@conditional``'s and ``conditional_response``'s cache_control wins over install's."""
    from flask import Flask

    from httpconflict.flask import conditional, conditional_response, install

    app = Flask(__name__)
    install(app)

    @app.get("/decorated")
    @conditional(lambda: ETag("7"), cache_control=value)
    def decorated() -> dict[str, int]:
        return {"n": 7}

    @app.get("/helped")
    def helped() -> Any:
        return conditional_response({"n": 7}, etag=ETag("7"), cache_control=value)

    client = Client(app)
    for path in ("/decorated", "/helped"):
        read = client.get(path)
        again = client.get(path, headers={"If-None-Match": read.headers["ETag"]})
        assert (read.status_code, read.headers.get("Cache-Control")) == (200, value), path
        assert (again.status_code, again.headers.get("Cache-Control")) == (304, value), path


@pytest.mark.parametrize("value", [None, "private, no-cache"])
def test_a_django_helpers_own_setting_is_kept_under_problem_middleware(value: str | None) -> None:
    """`conditional`'s and `not_modified`'s cache_control wins over `ProblemMiddleware`'s."""
    configure_django()
    from django.http import JsonResponse
    from django.test import RequestFactory

    from httpconflict import Validators
    from httpconflict.django import ProblemMiddleware, conditional, not_modified
    from httpconflict.django import add_read_caching as add

    @conditional(lambda request: ETag("7"), cache_control=value)
    def decorated(request: Any) -> Any:
        return JsonResponse({"n": 7})

    def helped(request: Any) -> Any:
        if request.headers.get("If-None-Match"):
            return not_modified(Validators(ETag("7")), cache_control=value)
        response = JsonResponse({"n": 7}, headers={"ETag": '"7"'})
        add(request, response, value)
        return response

    factory = RequestFactory()
    for view in (decorated, helped):
        middleware = ProblemMiddleware(view)
        read = middleware(factory.get("/r"))
        again = middleware(factory.get("/r", headers={"If-None-Match": read["ETag"]}))
        assert (read.status_code, read.get("Cache-Control")) == (200, value), view
        assert (again.status_code, again.get("Cache-Control")) == (304, value), view


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_integrity_error_middleware_alone_says_nothing_of_caching(method: str) -> None:
    """`IntegrityErrorMiddleware` without `ProblemMiddleware` leaves a tagged read as the view
    made it (docs/django.md says why): only `ProblemMiddleware`, first in MIDDLEWARE, adds."""
    configure_django()
    from django.http import HttpResponse
    from django.test import RequestFactory

    from httpconflict.django import IntegrityErrorMiddleware

    def answer(request: Any) -> Any:
        return HttpResponse(b"{}", headers=TAG, content_type="application/json")

    read = IntegrityErrorMiddleware(answer)(RequestFactory().generic(method, "/r"))
    assert (read.status_code, read["ETag"], read.get("Cache-Control")) == (200, '"7"', None)
