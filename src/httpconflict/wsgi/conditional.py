"""WSGI middleware for conditional GET and HEAD, from the validators of the app's answer.

An app that sets ETag or Last-Modified gets 304 when If-None-Match or
If-Modified-Since says the client has the representation, and 412 when
If-Match or If-Unmodified-Since fails, decided by `httpconflict.evaluate`
in RFC 9110 §13.2.2 order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from .._errors import MalformedHeader
from .._etag import ETag
from .._httpdate import parse_http_date
from .._preconditions import (
    NOT_MODIFIED_FIELDS,
    SAFE_METHODS,
    Conditions,
    Decision,
    Validators,
    evaluate,
    kept_in_304,
)
from .._refusals import precondition_failed
from ._answers import (
    Headers,
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


class ConditionalMiddleware:
    """304 and 412 for GET and HEAD, from the ETag and Last-Modified of the app's answer.

    Only requests that carry a conditional header are touched; their
    answer is held back until it is known whether the body is sent. A
    malformed conditional header on a resource that exists is a 400 problem.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in SAFE_METHODS or not any(f in environ for f in _CONDITIONAL_FIELDS):
            return self.app(environ, start_response)
        captured = run(self.app, environ, None)
        if captured.error is not None:
            raise captured.error
        current = _validators(captured.headers) if captured.status_code == 200 else None
        if current is None:
            # RFC 9110 §13.2.1: a server MUST ignore the preconditions when the
            # answer without them would not be 2xx; without validators there
            # is nothing to compare them with.
            return pass_on(start_response, captured)
        try:
            conditions = Conditions.from_headers(
                lambda name: header_lines(environ, environ_name(name))
            )
        except MalformedHeader as error:
            return problem_answer(start_response, error.problem)
        decision = evaluate(method, conditions, current)
        if decision is Decision.NOT_MODIFIED:
            keep = kept_in_304(name for name, _ in captured.headers)
            kept = [(n, v) for n, v in captured.headers if n.lower() in keep]
            start_response(status_line(304), kept)
            return []
        if decision is Decision.PRECONDITION_FAILED:
            return problem_answer(start_response, precondition_failed(current).problem)
        return pass_on(start_response, captured)


#: The fields a 304 repeats from the 200 (RFC 9110 §15.4.5; see `kept_in_304`).
NOT_MODIFIED_HEADERS: Final = NOT_MODIFIED_FIELDS
_CONDITIONAL_FIELDS: Final = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


def _validators(headers: Headers) -> Validators | None:
    etag: ETag | None = None
    last_modified: datetime | None = None
    for name, value in headers:
        try:
            if name.lower() == "etag":
                etag = ETag.parse(value)
            elif name.lower() == "last-modified":
                last_modified = parse_http_date(value)
        except MalformedHeader:
            continue  # the app's own malformed validator validates nothing
    if etag is None and last_modified is None:
        return None
    return Validators(etag, last_modified)
