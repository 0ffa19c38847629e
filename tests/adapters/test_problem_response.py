"""`problem_response(problem, headers=None)`: one signature in Starlette/FastAPI, Flask, Django.

Django's is run by test_django_renamed.py (its own process); Starlette's
and Flask's here, through each framework's own request handling.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from httpconflict import NotFound, ProblemDetails, Unavailable
from httpconflict.asgi import PROBLEM_SCOPE_KEY
from httpconflict.flask import problem_response as flask_problem_response
from httpconflict.starlette import problem_response

TEAPOT = ProblemDetails(title="I'm a teapot", status=418)


class NotedType:
    """ASGI middleware keeping the problem type each answer noted in its scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.noted: list[object] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        self.noted.append(scope.get(PROBLEM_SCOPE_KEY))


def starlette_get(path: str) -> tuple[httpx.Response, list[object]]:
    async def details(request: Request) -> Response:
        return problem_response(TEAPOT, {"X-Why": "tea"})

    async def error(request: Request) -> Response:
        return problem_response(Unavailable("the database is busy", retry_after=3))

    async def old(request: Request) -> Response:
        return problem_response(NotFound("gone").problem, request=request)

    routes = [Route("/details", details), Route("/error", error), Route("/old", old)]
    app = NotedType(Starlette(routes=routes))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(go()), app.noted


def test_starlette_answers_problem_details_with_its_headers() -> None:
    """A ProblemDetails: its status, problem+json, the headers given; its type noted."""
    answer, noted = starlette_get("/details")
    assert (answer.status_code, answer.headers["content-type"]) == (418, "application/problem+json")
    assert answer.headers["x-why"] == "tea"
    assert noted == ["about:blank"]


def test_starlette_answers_an_error_with_its_retry_after() -> None:
    """A ProblemError: its problem, and Retry-After from it."""
    answer, noted = starlette_get("/error")
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "3")
    assert answer.json()["retry_after"] == 3
    assert noted == ["unavailable"]


def test_starlette_request_keyword_still_works_with_a_warning() -> None:
    """The previous release's request= keyword: same answer, and a DeprecationWarning."""
    with pytest.deprecated_call(match="problem_response"):
        answer, noted = starlette_get("/old")
    assert answer.status_code == 404
    assert noted == ["not-found"]


@pytest.mark.parametrize(
    ("problem", "status", "retry_after"),
    [
        pytest.param(TEAPOT, 418, None, id="details"),
        pytest.param(Unavailable("busy", retry_after=3), 503, "3", id="error"),
    ],
)
def test_flask_answers_the_same(problem: Any, status: int, retry_after: str | None) -> None:
    """Flask's problem_response takes the same two forms, with the same fields."""
    app = Flask(__name__)
    with app.test_request_context("/"):
        answer = flask_problem_response(problem, {"X-Why": "tea"})
    assert (answer.status_code, answer.mimetype) == (status, "application/problem+json")
    assert (answer.headers.get("Retry-After"), answer.headers["X-Why"]) == (retry_after, "tea")
