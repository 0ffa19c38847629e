"""Flask: problem answers, conditional GET and atomic conditional writes.

    from httpconflict.flask import conditional, install, json_body, request_conditions

    app = Flask(__name__)
    install(app)               # in an app factory too

`install` makes every error an ``application/problem+json`` answer:
httpconflict's own errors (`ProblemError`: 400, 404, 412, 428, 503...),
integrity errors of any installed driver (409/422 naming the fields), a
database that is down, restarting, out of connections or giving a lock up
(503 with Retry-After; 504 for a write whose connection broke under it;
other database errors stay 500s), and Flask's HTTP errors (404, 405 with its
Allow header, 415, a body that is not JSON...). In views:

- ``@conditional(validators)`` answers GET and HEAD with 304 when the
  client's If-None-Match matches, and 412 when an If-Match fails (the
  core's `read_decision` decides), before the view runs, as Django's
  `conditional` does; `conditional_response(rv, etag=...)` decides from
  the view's own answer instead;
- `request_conditions()` is the request's parsed `Conditions`, for a store
  that checks them in the same statement as its write
  (`httpconflict.sqlalchemy`);
- `conditional_write(read, write)` drives the core's `write_flow` with any
  store's primitives and raises 404, 412 (with ``current_etag``), 428;
- `conditional_patch(read, read_base, write)` drives the core's
  `patch_flow`: the request's merge patch or JSON Patch, rebased on
  ``Prefer: rebase`` when `read_base` knows the version it was made from;
- `json_body()` is the body as one JSON object, or a 400/415/422 problem.

The names are those of every adapter (docs/api.md); the previous
release's `HTTPConflict`, `preconditions`, `json_object` and the function
form of `conditional` still work, with a `DeprecationWarning`.

Idempotency keys are WSGI middleware (`httpconflict.wsgi`), applied the
way Flask applies middleware: ``app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, ...)``.
"""

from __future__ import annotations

try:
    import flask  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from .._extras import missing_extra

    raise missing_extra(error, "flask", __name__) from None

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected, HTTPException, InternalServerError
from werkzeug.wrappers import Response as WerkzeugResponse

from .. import _problem
from .._conditional_read import ReadOutcome, read_decision
from .._deprecation import warn_deprecated
from .._errors import IncompleteBody, ProblemError, problem_and_fields
from .._etag import ETag
from .._httpdate import format_http_date
from .._idempotency_request import CLAIM_KEY, KeyedRequest
from .._incidents import log
from .._integrity import classify
from .._integrity_policy import DEFAULT_POLICY, Completes, IntegrityPolicy
from .._media import (
    DEFAULT_MAX_BODY,
    JSON,
    check_body_size,
    parse_json_object,
    require_identity_coding,
    require_media_type,
)
from .._outage import outage_error
from .._patch import Patch
from .._patch_flow import Base, PatchDecision, Snapshot, WriteDocument, patch_flow, run_patch
from .._preconditions import SAFE_METHODS, Conditions, Validators
from .._problem import MEDIA_TYPE, ProblemDetails, ProblemType
from .._problem_page import PAGES_KEY
from .._read_caching import REVALIDATE, read_cache_control
from .._rebase import prefers_rebase
from .._refusals import patch_refusal, refusal
from .._request_writes import begin_watching, committed_writes, end_watching, failures_recorded
from .._server_error import server_error_problem
from .._unstorable import unstorable_value
from .._write import Guard, WriteDecision, WriteResult, run_write, write_flow
from ..drivers import database_error_types
from ..wsgi._caching import CACHING_SAID, ReadCachingMiddleware
from ._teardown import DATABASE_ERROR_ANSWERED, TeardownAnswers

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "conditional",
    "conditional_patch",
    "conditional_response",
    "conditional_write",
    "install",
    "json_body",
    "problem_response",
    "request_conditions",
    "request_patch",
]

#: A view: any function Flask routes to.
View: TypeAlias = Callable[..., ResponseReturnValue]
#: The current validators of a view's resource, from the view's arguments (None: absent).
ValidatorsFunction: TypeAlias = Callable[..., Validators | ETag | None]

#: Flask's HTTP errors that have an httpconflict problem type.
_HTTP_PROBLEM_TYPES: Final[Mapping[int, ProblemType]] = {
    404: _problem.NOT_FOUND,
    405: _problem.METHOD_NOT_ALLOWED,
    413: _problem.CONTENT_TOO_LARGE,
    415: _problem.UNSUPPORTED_MEDIA_TYPE,
}


def problem_response(
    problem: ProblemDetails | ProblemError, headers: Mapping[str, str] | None = None
) -> Response:
    """An ``application/problem+json`` response carrying `problem`.

    A `ProblemError` is answered with its problem and, when it names a
    delay, its Retry-After.
    """
    details, fields = problem_and_fields(problem, headers)
    return Response(
        details.to_json(), status=details.status or 500, mimetype=MEDIA_TYPE, headers=fields
    )


def install(
    app: Flask,
    *,
    policy: IntegrityPolicy = DEFAULT_POLICY,
    catalog: Completes | None = None,
    http_exceptions: bool = True,
    read_cache_control: str | None = REVALIDATE,
) -> None:
    """Register the error handlers that answer every error with problem details.

    `policy` says how integrity violations are answered; `catalog` (a
    `Catalog`, or a `CatalogCache` that loads one when first needed) names
    the columns of constraints an error names only by name.
    `http_exceptions=False` leaves Flask's own HTTP error pages alone.

    A GET's or HEAD's 2xx or 304 that carries an ETag or Last-Modified
    (``response.set_etag``) and no Cache-Control of the app's, as it leaves
    the app (after its ``after_request`` hooks), says `read_cache_control`
    (``no-cache``: a shared cache keeps it past a PUT through it otherwise;
    None: nothing), as the core's `_read_caching` decides. A read answered
    by `conditional` or `conditional_response` says what their
    ``cache_control`` says.
    """
    _Handlers(policy, catalog, http_exceptions).init_app(app)
    if read_cache_control is not None:
        # Outermost: the app's answer as it leaves, whatever its hooks set.
        app.wsgi_app = ReadCachingMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, cache_control=read_cache_control
        )


_WATCH: Final = "httpconflict_writes"


def _watch_writes() -> None:
    setattr(g, _WATCH, begin_watching())
    handlers = current_app.extensions.get("httpconflict")
    if isinstance(handlers, _Handlers) and not handlers.checked:
        handlers.checked = True
        handlers.warn_outranked(current_app)


def _unwatch_writes(_error: BaseException | None) -> None:
    end_watching(g.pop(_WATCH, None))


class _Handlers:
    """The error handlers `install` registers, with their settings."""

    def __init__(
        self, policy: IntegrityPolicy, catalog: Completes | None, http_exceptions: bool
    ) -> None:
        self.policy = policy
        self.catalog = catalog
        self.http_exceptions = http_exceptions
        #: Whether the app's own handlers were looked at (at its first request).
        self.checked = False

    def init_app(self, app: Flask) -> None:
        for error_type in database_error_types():
            app.register_error_handler(error_type, self.handle_integrity_error)
        app.register_error_handler(ProblemError, self.handle_problem_error)
        # The request's commits, so that an outage after one is a 504, not a 503.
        app.before_request(_watch_writes)
        app.teardown_request(_unwatch_writes)
        if self.http_exceptions:
            app.register_error_handler(HTTPException, self.handle_http_exception)
        app.extensions["httpconflict"] = self
        # Flask's documented way to add WSGI middleware; a teardown's outage is answered there.
        app.wsgi_app = TeardownAnswers(app, app.wsgi_app, self.refusal)  # type: ignore[method-assign]

    def warn_outranked(self, app: Flask) -> None:
        """Warn of the app's handlers that Flask picks over ours for a database error.

        Flask answers an error with the handler of its nearest class: an app's
        handler for ``IntegrityError`` wins over ours for ``DBAPIError``,
        whatever the order they were registered in, and a duplicate stays
        whatever that handler answers (a 400 quoting the database, often).
        """
        ours = tuple(database_error_types())
        for scope, by_code in app.error_handler_spec.items():
            for kind, handler in by_code.get(None, {}).items():
                if issubclass(kind, ours) and getattr(handler, "__self__", None) is not self:
                    where = f"the blueprint {scope!r}" if scope else "the app"
                    log.warning(
                        "Flask: the handler %s registered for %s.%s answers those errors, not "
                        "httpconflict's install() (a 409 naming the field for a duplicate): "
                        "remove it, or answer with httpconflict.flask.problem_response",
                        where,
                        kind.__module__,
                        kind.__qualname__,
                    )

    def refusal(self, error: BaseException) -> ProblemDetails | None:
        """The problem answering the integrity violation `error` reports (None: not one).

        What a view's error is answered with, and a teardown's COMMIT the
        database refused (a deferred constraint) too.
        """
        violation = classify(error)
        if violation is None:
            return None
        if self.catalog is not None:
            violation = self.catalog.complete(violation)
        return self.policy.problem(violation)

    def handle_integrity_error(self, error: BaseException) -> Response:
        refused = self.refusal(error)
        if refused is None:
            failure = outage_error(error, request.method) or unstorable_value(error)
            if failure is None:
                raise error
            answer = problem_response(failure)
        else:
            answer = problem_response(refused)
        # A teardown's COMMIT of the failed transaction after it leaves this answer.
        setattr(g, DATABASE_ERROR_ANSWERED, answer.status_code)
        return answer

    def handle_problem_error(self, error: ProblemError) -> Response:
        return problem_response(error)

    def handle_http_exception(self, error: HTTPException) -> Response | HTTPException:
        if error.code is None or error.code < 400:
            return error  # not an error (a redirect): Flask answers it as it is
        original = getattr(error, "original_exception", None)
        if isinstance(error, InternalServerError) and original is not None:
            return _server_error(original)
        kept = {n: v for n, v in error.get_headers() if n.lower() != "content-type"}
        return problem_response(http_problem(error), kept)


def _server_error(original: BaseException) -> Response:
    """The 500 for an error no handler answered, as every adapter's (`server_error_problem`).

    It names an incident whose line in the ``httpconflict`` log has the
    error; it says so when part of the request was (or may have been)
    applied, its key recording that, and when an idempotency middleware
    around the app will release the request's key for a resend to run it
    again. An API client's answer varies by Accept where that middleware
    makes a browser's problems pages.
    """
    committed = committed_writes()
    claim = request.environ.get(CLAIM_KEY)
    released = (
        isinstance(claim, KeyedRequest)
        and bool(claim.key)
        and not claim.completed
        and not committed
        and not failures_recorded()
    )
    problem = server_error_problem(
        request.method, request.path, original, committed=committed, released=released
    )
    pages = request.environ.get(PAGES_KEY)
    return problem_response(problem, None if pages is None else {"Vary": "Accept"})


class HTTPConflict(_Handlers):
    """Deprecated: `install(app)`."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        policy: IntegrityPolicy = DEFAULT_POLICY,
        catalog: Completes | None = None,
        http_exceptions: bool = True,
    ) -> None:
        warn_deprecated("httpconflict.flask.HTTPConflict(app)", "httpconflict.flask.install(app)")
        super().__init__(policy, catalog, http_exceptions)
        if app is not None:
            self.init_app(app)


def http_problem(error: HTTPException) -> ProblemDetails:
    """The problem details for one of werkzeug's HTTP errors."""
    status = error.code or 500
    if isinstance(error, ClientDisconnected):
        # werkzeug's LimitedStream: the body ended before its Content-Length.
        incomplete = _caused_by(error, IncompleteBody) or IncompleteBody(
            "the body ended before its Content-Length: the connection ended first"
        )
        return incomplete.problem
    if status == 400 and (cause := _caused_by(error, ValueError)) is not None:
        # Flask's request.get_json() failed: say where, as parse_json would.
        return _problem.MALFORMED_JSON.problem(f"the body is not valid JSON: {cause}")
    problem_type = _HTTP_PROBLEM_TYPES.get(status)
    if problem_type is None:
        # RFC 9457 §4.2.1: with "about:blank" the title is the status phrase.
        # A 5xx stands for an exception whose text is nobody's business.
        detail = error.description if status < 500 else None
        return ProblemDetails(title=_phrase(status), status=status, detail=detail)
    if status == 413 and request.max_content_length is not None:
        return problem_type.problem(error.description, max_bytes=request.max_content_length)
    return problem_type.problem(error.description)


def _phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


_Cause = TypeVar("_Cause", bound=BaseException)


def _caused_by(error: BaseException, kind: type[_Cause]) -> _Cause | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def request_conditions() -> Conditions:
    """The request's If-Match, If-None-Match, If-(Un)Modified-Since, parsed.

    A malformed value raises `MalformedHeader`, which `install`'s handlers
    answer with a 400 problem naming the header.
    """
    return Conditions.from_headers(request.headers.getlist)


def preconditions() -> Conditions:
    """Deprecated: `request_conditions()`."""
    warn_deprecated("httpconflict.flask.preconditions()", "request_conditions()")
    return request_conditions()


def json_object() -> dict[str, Any]:
    """Deprecated: `json_body()`."""
    warn_deprecated("httpconflict.flask.json_object()", "json_body()")
    return json_body()


def json_body() -> dict[str, Any]:
    """The request body as one JSON object.

    Stricter than ``request.get_json()``: 415 without ``application/json``,
    400 for what is not JSON (or is NaN, or not UTF-8), 422 for JSON that is
    not an object or repeats a member name, 415 for a body sent with a
    content coding (gzip), 400 ``incomplete-body`` for a body that ended
    early (the view stops before it acts on a part of it).
    """
    require_media_type(request.content_type, (JSON,))
    return parse_json_object(_request_body())


def _request_body() -> bytes:
    """The body, read whole: 413 past the app's MAX_CONTENT_LENGTH, or past 1 MiB without one.

    A body sent with a content coding (gzip) is a 415 naming what is taken,
    unread: werkzeug hands it over as it came.
    """
    require_identity_coding(request.headers.getlist("Content-Encoding"))
    try:
        if request.max_content_length is not None:
            return request.get_data()  # werkzeug's 413 names the app's limit
        length = request.content_length
        check_body_size(length, DEFAULT_MAX_BODY)
        if length is not None:
            return request.get_data()
        # A chunked body says its size only as it ends.
        body: bytes = request.stream.read(DEFAULT_MAX_BODY + 1)
        check_body_size(len(body), DEFAULT_MAX_BODY)
        return body
    except OSError as error:
        # werkzeug reads a chunked body straight from the server, whose
        # stream raises when the connection ends before the last chunk.
        raise IncompleteBody(f"the body could not be read whole: {error}") from error


def conditional(
    validators: ValidatorsFunction,
    *,
    etag: ETag | None = None,
    last_modified: datetime | None = None,
    cache_control: str | None = REVALIDATE,
) -> Callable[[View], View]:
    """Answer GET and HEAD with 304, 412 or 400 before the view runs; add the validators to its 200.

    `validators` takes the view's arguments and returns the current
    `Validators` (or just an `ETag`) of the resource, or None when it does
    not exist (the view then answers its 404, whatever the preconditions
    say: RFC 9110 §13.2.1). Other methods go to the view unchecked: their
    precondition is checked by the write itself. Django's `conditional` is
    the same decorator.

    The 200 and the 304 say ``Cache-Control: no-cache`` (a cache asks
    before each use: it keeps the read past a PUT through it otherwise),
    unless the view's answer sets a Cache-Control of its own; `cache_control`
    is said instead (None: nothing). The 304 is made before the view runs:
    a view that says otherwise on its 200 names the same value here, so
    that its 304 repeats it (RFC 9110 §15.4.5).

    (The previous release's ``conditional(rv, etag=...)``, deciding from the
    view's answer, is `conditional_response`; called that way, this warns
    and does that.)
    """
    if etag is not None or last_modified is not None or not _is_function(validators):
        warn_deprecated(
            "httpconflict.flask.conditional(rv, etag=...)",
            "conditional_response(rv, etag=...), or @conditional(validators)",
        )
        rv: Any = validators  # the previous release's first argument: the view's answer
        answer = conditional_response(
            rv, etag=etag, last_modified=last_modified, cache_control=cache_control
        )
        return cast("Callable[[View], View]", answer)  # the old answer, for one more release
    find = validators

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def conditional_view(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            # `read_decision` decides GET and HEAD only: spare writes the read.
            if request.method not in SAFE_METHODS:
                return view(*args, **kwargs)
            request.environ[CACHING_SAID] = True  # `cache_control`, not `install`'s
            found = find(*args, **kwargs)
            current = Validators(found) if isinstance(found, ETag) else found
            decided = read_decision(
                request.method, request.headers.getlist, current, cache_control=cache_control
            )
            if decided.outcome is ReadOutcome.NOT_MODIFIED:
                return _NotModified(status=304, headers=list(decided.fields))
            if decided.error is not None:
                raise decided.error
            response = current_app.make_response(view(*args, **kwargs))
            if current is not None and response.status_code == 200:
                _set_validators(response, current)
                _add_read_caching(response, cache_control)
            return response

        return conditional_view

    return decorate


def _is_function(value: object) -> bool:
    """Whether `value` is a validators function, not a view's answer (a WSGI app is callable)."""
    return callable(value) and not isinstance(value, WerkzeugResponse)


def _set_validators(response: Response, current: Validators) -> None:
    if current.etag is not None and "ETag" not in response.headers:
        response.headers["ETag"] = current.etag.to_header()
    if current.last_modified is not None and "Last-Modified" not in response.headers:
        response.headers["Last-Modified"] = format_http_date(current.last_modified)


def _add_read_caching(response: Response, default: str | None) -> None:
    names = response.headers.keys()
    added = read_cache_control(request.method, response.status_code, names, default)
    if added is not None:
        response.headers["Cache-Control"] = added


def conditional_response(
    rv: ResponseReturnValue,
    *,
    etag: ETag | None = None,
    last_modified: datetime | None = None,
    cache_control: str | None = REVALIDATE,
) -> Response:
    """The view's answer with its validators, or 304 or 412 for a conditional GET or HEAD.

    The core's `read_decision` weighs the answer (with `etag` and
    `last_modified` set on it) against the request's preconditions in RFC
    9110 §13.2.2 order: If-None-Match uses the weak comparison and answers
    304 (so does a matching If-Modified-Since), with the header fields
    §15.4.5 lists; a failed If-Match (strong comparison) or
    If-Unmodified-Since raises `PreconditionFailed`, a 412 naming the
    current ETag; a malformed field raises `MalformedHeader` (400). Other
    methods, and answers other than 2xx (§13.2.1), just get the validators.

    A GET's or HEAD's 2xx carrying a validator, and its 304, say
    ``Cache-Control: no-cache`` unless the answer has a Cache-Control of
    its own: `cache_control` instead (None: nothing).
    """
    response = current_app.make_response(rv)
    request.environ[CACHING_SAID] = True  # `cache_control`, not `install`'s
    if etag is not None:
        response.headers["ETag"] = etag.to_header()
    if last_modified is not None:
        response.headers["Last-Modified"] = format_http_date(last_modified)
    _add_read_caching(response, cache_control)
    decision = read_decision(
        request.method,
        request.headers.getlist,
        response.headers.items(),
        status=response.status_code,
    )
    if decision.outcome is ReadOutcome.PROCEED:
        return response
    if decision.outcome is ReadOutcome.NOT_MODIFIED:
        return _NotModified(status=304, headers=list(decision.fields))
    assert decision.error is not None
    raise decision.error


class _NotModified(Response):
    """A 304 that carries exactly the fields the core chose.

    werkzeug drops Last-Modified from every 304, but RFC 9110 §15.4.5 wants
    it repeated when there is no ETag: it is what a cache revalidates with.
    """

    default_mimetype = None  # a 304 has no content, so no Content-Type

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        return Headers(self.headers)


def request_patch() -> Patch:
    """The request's patch document: a merge patch or JSON Patch (415, 400 otherwise; 413 as
    `json_body`)."""
    return Patch.parse(request.content_type, _request_body())


def conditional_patch(
    read: Callable[[], Snapshot | None],
    read_base: Callable[[tuple[str, ...]], Base | None],
    write: Callable[[WriteDocument], WriteResult],
    *,
    patch: Patch | None = None,
) -> PatchDecision:
    """Run the request's PATCH with a store's primitives; rebase it when it asks.

    `patch` defaults to the request's (`request_patch`). `read()` gives the
    current `Snapshot`; `read_base(tags)` the kept version an If-Match tag
    names (None: not kept); `write(command)` stores ``command.document``
    only if ``command.guard`` holds, in the same statement. A stale
    If-Match is a 412, unless the request sent ``Prefer: rebase``: then a
    patch touching nothing changed since its base is applied to the
    current document, and one that does is a 409 naming each clash.
    Raises the refusal (412, 409, 428, 404, 503); returns the decision.
    """
    conditions = request_conditions()
    flow = patch_flow(
        conditions,
        patch if patch is not None else request_patch(),
        rebase=prefers_rebase(request.headers.getlist("Prefer")),
        now=datetime.now(UTC),
    )
    decision = run_patch(flow, read, read_base, write)
    error = patch_refusal(decision, conditions)
    if error is not None:
        raise error
    return decision


def conditional_write(
    read: Callable[[], Validators | None],
    write: Callable[[Guard], WriteResult],
    *,
    requested: ETag | None = None,
    creates: bool | None = None,
    require_precondition: bool = True,
) -> WriteDecision:
    """Run the request's conditional write with a store's two primitives.

    `write(guard)` writes only if the `Guard` holds, in the same statement
    (``UPDATE ... WHERE id = ? AND etag IN (...)``), and reports a
    `WriteResult`; `read()` gives the current validators. `requested` is
    the ETag the resource has after the write, if known (None for DELETE):
    a write whose precondition holds and that would change nothing is then
    UNCHANGED. Returns the decision when written (or unchanged); raises
    `NotFound` (404), `PreconditionFailed` (412), `PreconditionRequired`
    (428: a write to an existing resource without If-Match) or a 503.
    """
    conditions = request_conditions()
    flow = write_flow(
        request.method,
        conditions,
        requested=requested,
        creates=creates,
        require_precondition=require_precondition,
        now=datetime.now(UTC),
    )
    decision = run_write(flow, read, write)
    error = refusal(decision, conditions)
    if error is not None:
        raise error
    return decision
