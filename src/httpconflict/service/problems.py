"""Every error answer of the service as application/problem+json.

The handlers are `httpconflict.starlette`'s (a `ProblemError` with its
Retry-After, Starlette's 404 and 405 with every allowed method), each
noting its problem type for the access log; an unexpected error is also
logged here, with its traceback, as a 500 that says nothing about it.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from .._problem import INTERNAL_ERROR, ProblemDetails
from ..starlette import install as install_handlers
from ..starlette import problem_response as render

log = logging.getLogger("httpconflict.service")


def problem_response(
    request: Request, problem: ProblemDetails, headers: dict[str, str] | None = None
) -> Response:
    """Render `problem`, and note its type for the access log."""
    return render(problem, headers, request=request)


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unhandled error for %s %s", request.method, request.url.path, exc_info=error)
    return render(INTERNAL_ERROR.problem("the server failed; see its log"), request=request)


def install(app: Starlette) -> None:
    """Register the exception handlers that turn every error into a problem.

    The stores answer integrity errors themselves (a unique key's 409), so
    no database error handler is registered.
    """
    install_handlers(app, error_types=(), server_errors=False)
    app.add_exception_handler(Exception, _unexpected)
