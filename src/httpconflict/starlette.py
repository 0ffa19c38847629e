"""Starlette (and FastAPI): every error answered as application/problem+json.

    from httpconflict.starlette import install

    app = Starlette(...)       # FastAPI users: httpconflict.fastapi.install(app)
    install(app)

After `install`, a `ProblemError` raised anywhere in a handler (412, 428,
404, ...) is answered with its problem and its Retry-After; Starlette's
`HTTPException` (a 404 for an unknown path, a 405) becomes a problem of the
same status; an integrity violation (a UNIQUE index refusing an insert)
becomes a 409 naming the field instead of a 500, and a database that is
down, restarting or out of connections a 503 with Retry-After (a 504 for
a write whose connection broke under it); a request whose client
went away in the middle of its body (Starlette's `ClientDisconnect`) stops
there, answered with nothing, instead of becoming a 500; and an unexpected
error is a 500 problem naming an incident (and still raised, so the server
logs it), or, for a browser's request that an `IdempotencyMiddleware` making
pages saw, the 500 page.
`add_integrity_handler` registers only the integrity part.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from ._extras import missing_extra

    raise missing_extra(error, "starlette", __name__) from None

from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from ._deprecation import warn_deprecated
from ._errors import ProblemError, problem_and_fields
from ._idempotency_request import CLAIM_KEY, RELEASED_KEY, KeyedRequest
from ._integrity import classify
from ._integrity_policy import DEFAULT_POLICY, Completes, IntegrityPolicy
from ._media import DEFAULT_MAX_BODY
from ._outage import outage_error
from ._problem import (
    CONTENT_TOO_LARGE,
    INTERNAL_ERROR,
    MEDIA_TYPE,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PROBLEM_TYPE_BASE,
    UNSUPPORTED_MEDIA_TYPE,
    ProblemDetails,
)
from ._read_caching import REVALIDATE
from ._request_writes import current_writes
from ._server_error import log_after_answer, server_error_problem
from ._unstorable import unstorable_value
from .asgi._caching import ReadCachingMiddleware
from .asgi._pages import negotiated
from .asgi._writes import (
    ANSWER_BEGAN,
    RAISED_AFTER_COMMIT,
    Refusal,
    WriteWatchMiddleware,
    unwrapped,
)
from .asgi.bodies import RequestBodyMiddleware
from .asgi.problems import PROBLEM_SCOPE_KEY
from .catalog import CatalogCache
from .drivers import database_error_types

__all__ = [
    "Handler",
    "add_integrity_handler",
    "client_disconnect_handler",
    "http_exception_handler",
    "install",
    "integrity_exception_handler",
    "problem_error_handler",
    "problem_response",
    "server_error_handler",
]

Handler = Callable[[Request, Exception], Awaitable[Response]]


def problem_response(
    problem: ProblemDetails | ProblemError,
    headers: Mapping[str, str] | None = None,
    *,
    request: Request | None = None,
) -> Response:
    """An ``application/problem+json`` response carrying `problem`.

    A `ProblemError` is answered with its problem and, when it names a
    delay, its Retry-After. When sent, the response notes the problem's
    type in the request's scope, for access logs. (`request` is no longer
    needed for that; passing it warns.)
    """
    if request is not None:
        warn_deprecated("problem_response(..., request=request)", "problem_response(problem)")
    details, fields = problem_and_fields(problem, headers)
    return _ProblemResponse(details, fields)


class _ProblemResponse(Response):
    """A problem's answer, which notes the problem's type in the scope it is sent in."""

    media_type = MEDIA_TYPE

    def __init__(self, problem: ProblemDetails, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(problem.to_json(), status_code=problem.status or 500, headers=headers)
        self.problem_type = problem.type.removeprefix(PROBLEM_TYPE_BASE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[PROBLEM_SCOPE_KEY] = self.problem_type
        await super().__call__(scope, receive, send)


async def problem_error_handler(request: Request, exc: Exception) -> Response:
    """Answer a `ProblemError` with its problem (and Retry-After when it names a delay)."""
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Answer Starlette's (or FastAPI's) `HTTPException` as a problem of its status.

    Its headers (Allow on a 405, WWW-Authenticate on a 401) are kept.
    """
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    phrase = _phrase(status)
    detail: Any = exc.detail
    extensions: dict[str, Any] = {}
    if not isinstance(detail, str):
        # FastAPI lets `detail` be any JSON value; RFC 9457's `detail` is a string.
        extensions["data"] = detail
        detail = None
    elif detail == phrase:
        detail = None
    if status == 404:
        problem = NOT_FOUND.problem(detail or f"no resource at {request.url.path}", **extensions)
    elif status in _TYPES:
        problem = _TYPES[status].problem(detail, **extensions)
    elif status == 405:
        allowed = ", ".join(_allowed_methods(request))
        headers["Allow"] = allowed
        problem = METHOD_NOT_ALLOWED.problem(
            detail or f"{request.method} is not supported here; allowed: {allowed}", **extensions
        )
    else:
        # RFC 9457 §4.2.1: with "about:blank" the title is the status phrase.
        problem = ProblemDetails(title=phrase, status=status, detail=detail, extensions=extensions)
    if status < 400 or status > 599:
        return Response(status_code=status, headers=headers)
    return problem_response(problem, headers)


async def client_disconnect_handler(conn: HTTPConnection, exc: Exception) -> None:
    """Answer nothing: the client went away before the end of its body.

    Starlette raises `ClientDisconnect` from ``request.body()``, ``.json()``
    or ``.stream()`` when the connection ends first, so the handler stopped
    before it acted on a part of a body, and no one is left to read an
    answer. (Starlette sends no response when a handler returns None.)
    """


async def server_error_handler(request: Request, exc: Exception) -> Response:
    """A 500 problem that says nothing about the failure, under an incident its log line names.

    After a commit of the request (`WriteWatchMiddleware` says so) it says that part of
    the request was applied; after an `IdempotencyMiddleware` released the request's key,
    that the same key sent again runs it again. Starlette calls it outside every
    middleware of the app's: a request that an `IdempotencyMiddleware` making pages saw
    gets the answer it would have made, a browser's page or the problem with
    ``Vary: Accept`` (`asgi._pages.negotiated`).
    """
    writes = current_writes()
    scope = request.scope
    began = scope.get(ANSWER_BEGAN)
    if isinstance(began, int):
        # Its answer went out (a background task raised after it): this one never will.
        log_after_answer(request.method, request.url.path, began, unwrapped(exc))
        return problem_response(INTERNAL_ERROR.problem("the server failed"))
    claim = scope.get(CLAIM_KEY)
    if (
        isinstance(claim, KeyedRequest)
        and claim.key
        and writes is not None
        and (writes.committed > 0 or writes.records_failures)
    ):
        # An IdempotencyMiddleware around the app records this failure and answers it, under
        # an incident it logs: this answer is never sent, and an incident here would be one
        # that no client is given.
        return problem_response(INTERNAL_ERROR.problem("the server failed"))
    problem = server_error_problem(
        request.method,
        request.url.path,
        exc,
        committed=bool(scope.get(RAISED_AFTER_COMMIT)),
        released=bool(scope.get(RELEASED_KEY)),
    )
    response = _ProblemResponse(problem)
    fields = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in response.raw_headers]
    fields, response.body = negotiated(scope, response.status_code, fields, problem.to_json())
    response.raw_headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in fields]
    return response


def integrity_exception_handler(
    *, policy: IntegrityPolicy = DEFAULT_POLICY, catalog: Completes | None = None
) -> Handler:
    """An exception handler answering integrity violations and outages; it re-raises anything else.

    An outage (the database down, restarting, out of connections, giving a
    lock up) is a 503 with Retry-After, or a 504 for a write whose
    connection broke under it (`httpconflict._outage`).

    `catalog` (a `Catalog`, or a `CatalogCache` that loads one when first
    needed) names the columns of constraints the error names only by name.
    """

    refusal = _integrity_refusal(policy=policy, catalog=catalog)

    async def handle(request: Request, exc: Exception) -> Response:
        refused = await refusal(exc)
        if refused is None:
            failure = outage_error(exc, request.method) or unstorable_value(exc)
            if failure is None:
                raise exc
            return problem_response(failure)
        return problem_response(refused)

    return handle


def _integrity_refusal(
    *, policy: IntegrityPolicy = DEFAULT_POLICY, catalog: Completes | None = None
) -> Refusal:
    """The problem answering the integrity violation an error reports (None: not one).

    What `integrity_exception_handler` answers, also for a COMMIT refused
    after the view's answer was formed (`WriteWatchMiddleware`).
    """

    async def refuse(exc: Exception) -> ProblemDetails | None:
        violation = classify(exc)
        if violation is None:
            return None
        if isinstance(catalog, CatalogCache):
            violation = await catalog.acomplete(violation)
        elif catalog is not None:
            violation = catalog.complete(violation)
        return policy.problem(violation)

    return refuse


def add_integrity_handler(
    app: Starlette,
    *,
    policy: IntegrityPolicy = DEFAULT_POLICY,
    catalog: Completes | None = None,
    error_types: Iterable[type[BaseException]] | None = None,
) -> None:
    """Answer `app`'s integrity errors with problem details.

    The handler is registered for each installed driver's base database
    error (see `httpconflict.drivers`), or for `error_types`.
    """
    handler = integrity_exception_handler(policy=policy, catalog=catalog)
    for error_type in error_types if error_types is not None else database_error_types():
        app.add_exception_handler(error_type, handler)  # type: ignore[arg-type]


def install(
    app: Starlette,
    *,
    policy: IntegrityPolicy = DEFAULT_POLICY,
    catalog: Completes | None = None,
    error_types: Iterable[type[BaseException]] | None = None,
    server_errors: bool = True,
    request_bodies: bool = True,
    max_body: int | None = DEFAULT_MAX_BODY,
    watch_writes: bool = True,
    hold_write_answers: bool = True,
    read_cache_control: str | None = REVALIDATE,
) -> None:
    """Register every handler: problems, HTTP exceptions, integrity errors, cut bodies, 500s.

    `policy`, `catalog` and `error_types` go to `add_integrity_handler`.
    `server_errors=False` leaves unexpected errors to Starlette's own 500;
    so does an app in ``debug`` (Starlette's traceback page), and a handler
    the app registered for 500 or `Exception` before `install` is kept.
    With `request_bodies`, adds `RequestBodyMiddleware`: ``request.json()``
    reads a body whole, whatever its size, so a JSON or form body past
    `max_body` bytes (1 MiB; None: no limit) is a 413 before it is read,
    and a content-coded one (gzip) a 415 naming what is taken.
    With `watch_writes`, adds `WriteWatchMiddleware`: a database outage
    after the request committed a write (through SQLAlchemy) is a 504
    outcome-unknown, not a 503 saying nothing was applied; and one the app
    raises after its answer (a session closed or committed by a FastAPI
    ``yield`` dependency's exit) no longer cuts the connection. With
    `hold_write_answers` too, a write's answer (not streamed) waits until
    the app returns, so that a COMMIT after it which fails is answered 504
    outcome-unknown, and one the database refuses (a deferred constraint)
    with the 409 `policy` gives its violation, never with the view's 200
    (`httpconflict._late_errors`).
    A GET's or HEAD's 2xx or 304 that carries an ETag or Last-Modified and
    no Cache-Control of the app's says `read_cache_control` (``no-cache``:
    a shared cache keeps it past a PUT through it otherwise; None: nothing),
    as the core's `_read_caching` decides (`ReadCachingMiddleware`).
    """
    app.add_exception_handler(ProblemError, problem_error_handler)
    app.add_exception_handler(HTTPException, http_exception_handler)
    app.add_exception_handler(ClientDisconnect, client_disconnect_handler)
    add_integrity_handler(app, policy=policy, catalog=catalog, error_types=error_types)
    if server_errors and not _has_server_error_handler(app):
        app.add_exception_handler(Exception, server_error_handler)
    if read_cache_control is not None:
        app.add_middleware(ReadCachingMiddleware, cache_control=read_cache_control)
    if request_bodies:
        app.add_middleware(RequestBodyMiddleware, max_bytes=max_body)
    if watch_writes:
        # The request's commits, so that an outage after one is a 504, not a 503.
        app.add_middleware(
            WriteWatchMiddleware,
            hold_answers=hold_write_answers,
            refusal=_integrity_refusal(policy=policy, catalog=catalog),
        )


def _has_server_error_handler(app: Starlette) -> bool:
    """Whether the app has a handler of its own for unexpected errors (500, or `Exception`).

    Starlette answers them with one handler, the last of the two registered:
    `install`'s, registered after the app's, would take its place.
    """
    return any(key in (500, Exception) for key in app.exception_handlers)


def _allowed_methods(request: Request) -> list[str]:
    """The methods of every route at this path.

    Starlette's 405 names only the first matching route's methods, but a
    path is often served by one route per method (FastAPI's style); RFC
    9110 §15.5.6 wants all of them in Allow.
    """
    methods: set[str] = set()
    routes: list[BaseRoute] = request.app.router.routes
    for route in routes:
        match, _ = route.matches({**request.scope, "method": "\0"})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


_TYPES: Final = {413: CONTENT_TOO_LARGE, 415: UNSUPPORTED_MEDIA_TYPE}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
