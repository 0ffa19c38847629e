"""Every error answer of the service as application/problem+json.

The handlers are `httpconflict.starlette`'s (a `ProblemError` with its
Retry-After, Starlette's 404 and 405 with every allowed method), each
noting its problem type for the access log. An unexpected error is
answered by `ServerErrors`: a 500 carrying an incident id, and one log
line under that id (see `httpconflict.incidents`); one raised in a layer
outside it, by `outer_server_error`, the same way.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..asgi import send_problem
from ..incidents import log_incident, new_incident
from ..problem_types import INTERNAL_ERROR, METHOD_NOT_ALLOWED
from ..starlette import install as install_handlers
from ..starlette import problem_response


class MethodNotAllowed:
    """An endpoint for every other method of a path: 405 naming its methods (`allow`) only.

    Routed after the path's own routes, with no method list, it keeps a
    request of another method from reaching the document routes, whose
    paths fit too, and being refused for the reserved name (``_changes``,
    ``_collections``): a 400 that hides the real reason. An ASGI app, not a
    function: Starlette routes a function endpoint without methods to GET alone.
    """

    def __init__(self, allow: str) -> None:
        self.allow = allow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = METHOD_NOT_ALLOWED.problem(
            f"{scope['method']} is not supported here; allowed: {self.allow}"
        )
        await problem_response(problem, {"Allow": self.allow})(scope, receive, send)


class ServerErrors:
    """Answer an unexpected error with a 500 problem naming an incident, logged on one line.

    The error goes no further: re-raised, it would reach the server, which
    logs its whole traceback and closes the connection, taking a healthy
    keep-alive connection down with one failed request. It sits outside
    the idempotency middleware, which releases the request's key on the
    way out (a 500 is never recorded as a key's answer). An error after
    the answer began cannot be answered any more: it is logged, and the
    server closes the connection, the only way left to tell the client
    that the answer is cut short.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:  # whatever it is, the client gets a problem, the log one line
            incident = new_incident()
            what = "failed in its answer" if started else "answered 500"
            summary = f"{scope['method']} {scope['path']} {what}"
            log_incident(incident, summary, error, level=logging.ERROR)
            if started:
                return
            problem = INTERNAL_ERROR.problem(
                "the server failed; its operator finds why under this incident id",
                incident=incident,
            )
            await send_problem(scope, send, problem)


def install(app: Starlette) -> None:
    """Register the exception handlers that turn every expected error into a problem.

    The stores answer integrity errors themselves (a unique key's 409), so
    no database error handler is registered; unexpected errors are
    `ServerErrors`' (a middleware, so that they never reach the server).
    The service reads its bodies itself, against `--max-body` (`read_body`),
    so no `RequestBodyMiddleware` is added; its stores write each request in
    one statement and say themselves what an outage left, so no commits are
    watched.
    """
    install_handlers(
        app, error_types=(), server_errors=False, request_bodies=False, watch_writes=False
    )
    # A failure in a layer outside `ServerErrors` (the Host check, CORS, compression, the
    # access log) reaches Starlette's own outermost layer, whose answer is plain text.
    app.add_exception_handler(Exception, outer_server_error)


async def outer_server_error(request: Request, error: Exception) -> Response:
    """The 500 problem for an error raised outside `ServerErrors`, under an incident.

    Starlette's outermost layer sends it, then raises the error on to the
    server, which closes the connection.
    """
    incident = new_incident()
    log_incident(
        incident, f"{request.method} {request.url.path} answered 500", error, level=logging.ERROR
    )
    return problem_response(
        INTERNAL_ERROR.problem(
            "the server failed; its operator finds why under this incident id", incident=incident
        )
    )
