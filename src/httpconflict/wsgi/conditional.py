"""WSGI middleware for conditional GET and HEAD, decided from the app's own answer.

The app answers as if the request had no preconditions; the core's
`read_decision` weighs that answer (its status and header fields) against
the request's If-Match, If-Unmodified-Since, If-None-Match and
If-Modified-Since in RFC 9110 §13.2.2 order, and the middleware sends what
it decides: the answer as it is, a 304 with the fields §15.4.5 lists, a
412 problem naming the current ETag, or a 400 naming a malformed field.

Reads are cached as the ASGI `ConditionalMiddleware` has them
(`_read_caching`): one with a validator whose app says nothing of caching
says ``Cache-Control: no-cache``, its 304 too; ``cache_control=`` says
another value, or nothing (None); the app's own is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .._conditional_read import NOT_MODIFIED_FIELDS, ReadOutcome, read_decision
from .._idempotency_request import Interrupted
from .._preconditions import SAFE_METHODS
from .._read_caching import REVALIDATE, with_read_caching
from ._answers import (
    StartResponse,
    WSGIApplication,
    WSGIEnvironment,
    environ_name,
    header_lines,
    pass_on,
    problem_answer,
    run,
    status_line,
)
from ._caching import caching_start, read_default

__all__ = [
    "NOT_MODIFIED_HEADERS",
    "ConditionalMiddleware",
]


class ConditionalMiddleware:
    """304, 412 and 400 for GET and HEAD, from the app's answer and the request's preconditions.

    Only GET and HEAD requests that carry a conditional field are touched;
    their answer is held back until it is known whether the body is sent.
    Any answer but a 2xx is passed on untouched (RFC 9110 §13.2.1).
    `cache_control` is what a read with a validator says of caching when
    the app says nothing (None: nothing).
    """

    def __init__(self, app: WSGIApplication, *, cache_control: str | None = REVALIDATE) -> None:
        self.app = app
        self.cache_control = cache_control

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in SAFE_METHODS:
            return self.app(environ, start_response)
        # Only these can be answered other than as the app answers (`read_decision`);
        # the rest may only need Cache-Control.
        if not any(f in environ for f in _CONDITIONAL_FIELDS):
            if self.cache_control is None:
                return self.app(environ, start_response)
            return self.app(environ, caching_start(environ, start_response, self.cache_control))
        captured = run(self.app, environ, None)
        if isinstance(captured.error, Interrupted):
            raise captured.error.cause
        if captured.error is not None:
            raise captured.error
        default = read_default(environ, self.cache_control)
        captured.headers = with_read_caching(
            method, captured.status_code, captured.headers, default
        )
        decision = read_decision(
            method,
            lambda name: header_lines(environ, environ_name(name)),
            captured.headers,
            status=captured.status_code,
        )
        if decision.outcome is ReadOutcome.PROCEED:
            return pass_on(start_response, captured)
        if decision.outcome is ReadOutcome.NOT_MODIFIED:
            start_response(status_line(304), list(decision.fields))
            return []
        assert decision.error is not None
        return problem_answer(start_response, decision.error.problem)


#: The fields a 304 repeats from the 200 (RFC 9110 §15.4.5; Last-Modified too without an ETag).
NOT_MODIFIED_HEADERS: Final = NOT_MODIFIED_FIELDS
_CONDITIONAL_FIELDS: Final = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)
