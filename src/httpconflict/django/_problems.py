"""Every error a Django app answers, as an RFC 9457 problem.

Theory of operation: errors reach a Django response by three roads, and
each gets its problem here. A `ProblemError` or a database integrity error
raised by a view is caught in `process_exception`, and so is a database
outage (503, or 504 for a write whose connection broke) (after ``ATOMIC_REQUESTS``
rolled the transaction back). Django's own errors (`Http404`, a URL that
matches nothing, `PermissionDenied`, a CSRF failure, `SuspiciousOperation`,
a 405 from ``require_http_methods``, an unhandled exception's 500) become
*pages* before any middleware sees them, so `ProblemMiddleware` recognises
those pages on the way out: an error status with an HTML body is Django's
default page, never an API answer, and is replaced by the problem for its
status. JSON error bodies a view chose to send go through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from .._catalog import Catalog
from .._deprecation import warn_deprecated
from .._errors import ContentTooLarge, ProblemError, problem_and_fields
from .._integrity import Violation, classify
from .._integrity_policy import DEFAULT_POLICY, IntegrityPolicy
from .._problem import (
    INTERNAL_ERROR,
    MEDIA_TYPE,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    ProblemDetails,
    ProblemType,
)
from .._read_caching import REVALIDATE
from .._request_writes import committed_writes, watching_writes
from .._server_error import server_error_problem
from .._unstorable import unstorable_value
from ..catalog import CatalogCache, dialect_of, load_catalog
from ._caching import default_read_caching
from ._commits import track_commits
from ._middleware import GetResponse, ResponseMiddleware
from ._own_statements import database_outage

#: The request attribute `ProblemMiddleware` sets: False, then True once the view is called.
VIEW_CALLED: Final = "_httpconflict_view_called"
#: The request's attribute holding what its view raised that no middleware answered.
RAISED: Final = "_httpconflict_raised"
#: Header fields of Django's own error answers that a client needs to act on.
_KEPT_HEADERS: Final = ("Allow", "WWW-Authenticate", "Retry-After")
_TYPES_BY_STATUS: Final[Mapping[int, ProblemType]] = {
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    500: INTERNAL_ERROR,
}


def problem_response(
    problem: ProblemDetails | ProblemError, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """An ``application/problem+json`` response carrying `problem`.

    A `ProblemError` is answered with its problem and, when it names a
    delay, its Retry-After.
    """
    details, fields = problem_and_fields(problem, headers)
    response = HttpResponse(
        details.to_json(), status=details.status or 500, content_type=MEDIA_TYPE
    )
    for name, value in fields.items():
        response[name] = value
    return response


def error_response(error: ProblemError) -> HttpResponse:
    """Deprecated: `problem_response(error)`."""
    warn_deprecated("httpconflict.django.error_response(error)", "problem_response(error)")
    return problem_response(error)


def status_problem(status: int, detail: str | None = None) -> ProblemDetails:
    """The problem for a bare status: its catalogue type, else ``about:blank``.

    RFC 9457 §4.2.1: with ``about:blank`` the title "SHOULD be the same as
    the recommended HTTP status phrase for that code".
    """
    known = _TYPES_BY_STATUS.get(status)
    if known is not None:
        return known.problem(detail)
    try:
        phrase: str | None = HTTPStatus(status).phrase
    except ValueError:  # a status Python does not know has no recommended phrase
        phrase = None
    return ProblemDetails(title=phrase, status=status, detail=detail)


class IntegrityErrorMiddleware(ResponseMiddleware):
    """Turns integrity errors raised by views into problem details answers.

    A database that is down, restarting, out of connections or giving a lock
    up is a 503 with Retry-After (a 504 for a write whose connection broke
    under it: `httpconflict._outage`), not Django's 500.

    Settings, all optional: ``HTTPCONFLICT_INTEGRITY_POLICY`` (an
    `httpconflict.IntegrityPolicy`: statuses, field names, whether values
    are shown) and ``HTTPCONFLICT_CATALOG`` (False never reads the database
    catalog; it is read once, when a violation first needs a column named).

    Every other answer is left as it is: unlike `ProblemMiddleware`, it adds
    no ``Cache-Control`` to a read (docs/django.md says why).
    """

    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        self.policy: IntegrityPolicy = getattr(
            settings, "HTTPCONFLICT_INTEGRITY_POLICY", DEFAULT_POLICY
        )
        self.read_catalog: bool = getattr(settings, "HTTPCONFLICT_CATALOG", True)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        problem = integrity_problem_of(exception, self.policy, read_catalog=self.read_catalog)
        if problem is not None:
            return problem_response(problem)
        failure = database_outage(exception, request.method or "GET") or unstorable_value(exception)
        return None if failure is None else problem_response(failure)


class ProblemMiddleware(IntegrityErrorMiddleware):
    """Answers every error as ``application/problem+json``; put it first in MIDDLEWARE.

    Raised by a view: a `ProblemError` answers its own problem (with
    Retry-After when it names one), an integrity error 409/422 as
    `IntegrityErrorMiddleware` does, `RequestDataTooBig` 413 (Django would
    say 400). Django's own HTML error pages become the problem for their
    status, keeping Allow, WWW-Authenticate and Retry-After. With DEBUG on,
    a 500 keeps Django's debugging page.

    A GET's or HEAD's 2xx or 304 that carries an ETag or Last-Modified and
    no Cache-Control of the view's says ``no-cache``, as under Flask's and
    Starlette's ``install`` (_caching.py): a shared cache keeps it past a
    PUT through it otherwise. The ``HTTPCONFLICT_READ_CACHE_CONTROL``
    setting says another value, or nothing (None); a read helper's own
    ``cache_control=`` is kept.

    It also marks the request when its view is called, for `server_error`
    (Django's ``handler500``) to tell an outage before the view from one
    after it.
    """

    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        self.read_cache_control: str | None = getattr(
            settings, "HTTPCONFLICT_READ_CACHE_CONTROL", REVALIDATE
        )
        if self._async:
            # Django calls process_view in the stack's mode: an async one, no thread hop.
            self.process_view = self._aprocess_view  # type: ignore[method-assign, assignment]
        # The request's commits, so that an outage after one is a 504, not a 503.
        track_commits()

    def __call__(self, request: HttpRequest) -> Any:
        setattr(request, VIEW_CALLED, False)
        if self._async:
            return self._watched(request)
        with watching_writes():
            return super().__call__(request)

    async def _watched(self, request: HttpRequest) -> Any:
        with watching_writes():
            return await super().__call__(request)

    def process_view(self, request: HttpRequest, *args: Any) -> None:
        setattr(request, VIEW_CALLED, True)

    async def _aprocess_view(self, request: HttpRequest, *args: Any) -> None:
        setattr(request, VIEW_CALLED, True)

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not _is_default_error_page(response):
            default_read_caching(request, response, self.read_cache_control)
            return response
        if response.status_code == 500 and settings.DEBUG:
            return response
        if response.status_code == 500:
            # Django's own handler500 page: after a commit (part of the request was
            # applied), under a key that records it (part may have been), or not; an
            # incident names the error's line in our log either way (Django without
            # LOGGING prints no 500).
            error = getattr(request, RAISED, None)
            problem = server_error_problem(
                request.method or "GET", request.path, error, committed=committed_writes()
            )
            return problem_response(problem)
        replaced = problem_response(status_problem(response.status_code))
        for name in _KEPT_HEADERS:
            if response.has_header(name):
                replaced[name] = response[name]
        return replaced

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ProblemError):
            return problem_response(exception)
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return problem_response(
                ContentTooLarge(f"the body exceeds the limit of {limit} bytes", max_bytes=limit)
            )
        answered = super().process_exception(request, exception)
        if answered is None:
            setattr(request, RAISED, exception)  # for the incident of Django's 500 (`after`)
        return answered


def _is_default_error_page(response: HttpResponseBase) -> bool:
    content_type: str = response.get("Content-Type", "")
    return response.status_code >= 400 and content_type.startswith("text/html")


# One catalog per database alias for the whole process: the middleware and
# the REST framework exception handler share them.
_catalogs: dict[str, CatalogCache] = {}


def integrity_problem_of(
    exception: BaseException, policy: IntegrityPolicy, *, read_catalog: bool = True
) -> ProblemDetails | None:
    """The problem for an integrity error raised through Django, or None for other errors."""
    violation = violation_of(exception, read_catalog=read_catalog)
    return None if violation is None else policy.problem(violation)


def violation_of(exception: BaseException, *, read_catalog: bool = True) -> Violation | None:
    """The violation an integrity error raised through Django reports, its columns named.

    What the error does not name (MariaDB names a unique key, not its
    columns) the database's catalog adds, unless `read_catalog` is false.
    """
    violation = classify(exception)
    if violation is not None and read_catalog:
        violation = _complete(violation)
    return violation


def _complete(violation: Violation) -> Violation:
    # The error does not say which connection raised it: the first
    # configured database of the same kind is the likely one.
    for alias in connections:
        if dialect_of(connections[alias]) == violation.dialect:
            if alias not in _catalogs:
                _catalogs[alias] = CatalogCache(_loader(alias))
            return _catalogs[alias].complete(violation)
    return violation


def _loader(alias: str) -> Callable[[], Catalog]:
    # Django's connections are per thread: look this thread's up at load time.
    return lambda: load_catalog(connections[alias])
