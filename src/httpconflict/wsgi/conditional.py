"""WSGI middleware for conditional GET and HEAD, decided from the app's own answer.

The app answers as if the request had no preconditions; the core's
`read_decision` weighs that answer (its status and header fields) against
the request's If-Match, If-Unmodified-Since, If-None-Match and
If-Modified-Since in RFC 9110 §13.2.2 order, and the middleware sends what
it decides: the answer as it is, a 304 with the fields §15.4.5 lists, a
412 problem naming the current ETag, or a 400 naming a malformed field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .._conditional_read import NOT_MODIFIED_FIELDS, ReadOutcome, read_decision
from .._idempotency_request import Interrupted
from .._preconditions import SAFE_METHODS
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

__all__ = [
    "NOT_MODIFIED_HEADERS",
    "ConditionalMiddleware",
]


class ConditionalMiddleware:
    """304, 412 and 400 for GET and HEAD, from the app's answer and the request's preconditions.

    Only GET and HEAD requests that carry a conditional field are touched;
    their answer is held back until it is known whether the body is sent.
    Any answer but a 2xx is passed on untouched (RFC 9110 §13.2.1).
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        # Only these can be answered other than as the app answers (`read_decision`).
        if method not in SAFE_METHODS or not any(f in environ for f in _CONDITIONAL_FIELDS):
            return self.app(environ, start_response)
        captured = run(self.app, environ, None)
        if isinstance(captured.error, Interrupted):
            raise captured.error.cause
        if captured.error is not None:
            raise captured.error
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
