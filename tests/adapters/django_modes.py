"""Django's middleware modes: run by test_django_middleware_modes.py in its own process.

Loads the three httpconflict middlewares into Django's ASGI and WSGI
handlers with DEBUG on, so Django logs each handler it has to adapt
between sync and async (an adaptation is a thread hop per request), then
sends one request through each handler. Prints one JSON line: the adapted
handlers Django logged, and each request's status and content type.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import django
from django.conf import settings

settings.configure(
    DEBUG=True,  # Django logs each handler it adapts only when debugging
    SECRET_KEY="test-only",  # noqa: S106  # nothing here signs or encrypts
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "httpconflict.django.ProblemMiddleware",
        "httpconflict.django.IntegrityErrorMiddleware",
        "httpconflict.django.ConditionalGetMiddleware",
    ],
    DATABASES={},
)
django.setup()

import httpx  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def note(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"title": "a note"}, headers={"ETag": '"1"'})


urlpatterns = [path("note", note)]


class Adapted(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "adapted" in record.getMessage():
            self.messages.append(record.getMessage())


def main() -> None:
    adapted = Adapted()
    logger = logging.getLogger("django.request")
    logger.addHandler(adapted)
    logger.setLevel(logging.DEBUG)
    answers: dict[str, Any] = {}
    asgi = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ASGIHandler()), base_url="http://testserver"
    )
    wsgi = httpx.Client(
        transport=httpx.WSGITransport(app=WSGIHandler()), base_url="http://testserver"
    )

    async def through_asgi() -> None:
        async with asgi:
            for name, url, headers in REQUESTS:
                answer = await asgi.get(url, headers=headers)
                answers[f"asgi {name}"] = [answer.status_code, answer.headers.get("content-type")]

    asyncio.run(through_asgi())
    with wsgi:
        for name, url, headers in REQUESTS:
            answer = wsgi.get(url, headers=headers)
            answers[f"wsgi {name}"] = [answer.status_code, answer.headers.get("content-type")]
    print(json.dumps({"adapted": adapted.messages, "answers": answers}))


REQUESTS = [
    ("missing", "/nowhere", {}),  # Django's 404 page, replaced by a problem
    ("not modified", "/note", {"If-None-Match": '"1"'}),
    ("stale", "/note", {"If-Match": '"2"'}),
]

if __name__ == "__main__":
    main()
