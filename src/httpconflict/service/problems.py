"""Every error answer of the service as application/problem+json."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from .._errors import IdempotencyKeyInFlight, ProblemError, Unavailable
from .._problem import (
    INTERNAL_ERROR,
    MEDIA_TYPE,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PROBLEM_TYPE_BASE,
    ProblemDetails,
)
from ..asgi import PROBLEM_SCOPE_KEY

log = logging.getLogger("httpconflict.service")


def problem_response(
    request: Request, problem: ProblemDetails, headers: dict[str, str] | None = None
) -> Response:
    """Render `problem`, and note its type for the access log."""
    request.scope[PROBLEM_SCOPE_KEY] = problem.type.removeprefix(PROBLEM_TYPE_BASE)
    status = problem.status or 500
    return Response(problem.to_json(), status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _problem_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ProblemError)
    headers = None
    if isinstance(error, Unavailable | IdempotencyKeyInFlight):
        headers = {"Retry-After": str(error.retry_after)}
    return problem_response(request, error.problem, headers)


async def _http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        # Starlette names only the first matching route's methods; RFC 9110
        # §15.5.6 wants all of them.
        headers["Allow"] = ", ".join(_allowed_methods(request))
        problem = METHOD_NOT_ALLOWED.problem(
            f"{request.method} is not supported here; allowed: {headers['Allow']}"
        )
    elif error.status_code == 404:
        problem = NOT_FOUND.problem(f"no resource at {request.url.path}")
    else:
        problem = ProblemDetails(status=error.status_code, title=str(error.detail))
    return problem_response(request, problem, headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    routes: list[BaseRoute] = request.app.router.routes
    for route in routes:
        match, _ = route.matches({**request.scope, "method": "\0"})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unhandled error for %s %s", request.method, request.url.path, exc_info=error)
    return problem_response(request, INTERNAL_ERROR.problem("the server failed; see its log"))


def install(app: Starlette) -> None:
    """Register the exception handlers that turn every error into a problem."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
