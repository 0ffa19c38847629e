"""Conditional GET and HEAD for Django views: 304 and 412 by the core's `evaluate`.

Django's own `condition` decorator gets the order of RFC 9110 §13.2.2
right but reads the fields loosely: `parse_etags` splits ``"a,b"`` (one
tag) in two and silently drops a malformed tag, so an unquoted ``If-Match:
7`` counts as absent; malformed dates are ignored; a resource with no
Last-Modified fails If-Unmodified-Since (§13.1.4 says ignore it); a failed
If-Match on a resource that does not exist is a 412 where §13.2.1 wants
the view's 404; and its 412 is an empty page. Here every field is parsed
strictly (400 naming it), the core evaluates, and refusals are problems
naming the current ETag.

Writes are not checked here. A check before the write and the write itself
are two steps another writer can come between (Django's `condition` has
that race): a write is checked inside its own statement, by
`versioned_update` and `versioned_delete`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified

from .._errors import MalformedHeader, ProblemError
from .._etag import ETag
from .._httpdate import format_http_date, parse_http_date
from .._preconditions import SAFE_METHODS, Decision, Validators, evaluate, kept_in_304
from .._refusals import precondition_failed
from ._middleware import ResponseMiddleware
from ._problems import error_response
from ._requests import request_conditions

ValidatorsFunction = Callable[..., Validators | ETag | None]
View = Callable[..., HttpResponseBase]

# RFC 9110 §15.4.5: "The server generating a 304 response MUST generate any
# of the following header fields that would have been sent in a 200 (OK)
# response to the same request: Content-Location, Date, ETag, and Vary;
# Cache-Control and Expires".


def conditional(validators: ValidatorsFunction) -> Callable[[View], View]:
    """Answer GET and HEAD with 304 or 412 before the view runs; add the validators to its 200.

    `validators` takes the view's arguments and returns the current
    `Validators` (or just an `ETag`) of the resource, or None when it does
    not exist (the view then answers its 404). Other methods go to the view
    unchecked.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def conditional_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in SAFE_METHODS:
                return view(request, *args, **kwargs)
            found = validators(request, *args, **kwargs)
            current = Validators(found) if isinstance(found, ETag) else found
            try:
                refused = answer_preconditions(request, current)
            except ProblemError as error:
                return error_response(error)
            if refused is not None:
                return refused
            response = view(request, *args, **kwargs)
            if current is not None and response.status_code == 200:
                set_validators(response, current)
            return response

        return conditional_view

    return decorate


def answer_preconditions(request: Any, current: Validators | None) -> HttpResponseBase | None:
    """The 304 for a GET or HEAD whose client has the current representation, else None.

    Raises `PreconditionFailed` (412) when If-Match or If-Unmodified-Since
    fail, and `MalformedHeader` (400) for a malformed field.
    """
    decision = evaluate(request.method, request_conditions(request), current)
    if decision is Decision.NOT_MODIFIED:
        assert current is not None
        return not_modified(current)
    if decision is Decision.PRECONDITION_FAILED:
        raise precondition_failed(current)
    return None


def not_modified(current: Validators) -> HttpResponseNotModified:
    """A 304 carrying the validators (Last-Modified only when there is no ETag, §15.4.5)."""
    response = HttpResponseNotModified()
    if current.etag is not None:
        response["ETag"] = current.etag.to_header()
    elif current.last_modified is not None:
        response["Last-Modified"] = format_http_date(current.last_modified)
    return response


def set_validators(response: HttpResponseBase, current: Validators) -> None:
    """Add ETag and Last-Modified to a response that does not carry them yet."""
    if current.etag is not None and not response.has_header("ETag"):
        response["ETag"] = current.etag.to_header()
    if current.last_modified is not None and not response.has_header("Last-Modified"):
        response["Last-Modified"] = format_http_date(current.last_modified)


class ConditionalGetMiddleware(ResponseMiddleware):
    """304 and 412 for any GET or HEAD whose 200 carries an ETag or Last-Modified.

    In place of ``django.middleware.http.ConditionalGetMiddleware``, with the
    strict reading and the problem answers of `conditional`; in MIDDLEWARE,
    or on one view with ``decorator_from_middleware``. The view still builds
    the body a 304 discards; `conditional` skips that work.
    """

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return self.process_response(request, response)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """The hook ``decorator_from_middleware`` calls, to use this on one view."""
        if request.method not in SAFE_METHODS or response.status_code != 200:
            return response
        current = _validators_of(response)
        if current.etag is None and current.last_modified is None:
            return response
        try:
            refused = answer_preconditions(request, current)
        except ProblemError as error:
            return error_response(error)
        if refused is None:
            return response
        for name in kept_in_304(response.headers):
            if not refused.has_header(name):
                refused[name] = response[name]
        return refused


def _validators_of(response: HttpResponseBase) -> Validators:
    """The validators a response carries; a malformed one is as good as none."""
    etag = last_modified = None
    with contextlib.suppress(MalformedHeader):
        etag = ETag.parse(response["ETag"]) if response.has_header("ETag") else None
    with contextlib.suppress(MalformedHeader):
        if response.has_header("Last-Modified"):
            last_modified = parse_http_date(response["Last-Modified"])
    return Validators(etag, last_modified)
