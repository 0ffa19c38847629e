"""Conditional GET and HEAD for Django views: 304, 412 and 400 by the core's `read_decision`.

Django's own `condition` decorator gets the order of RFC 9110 §13.2.2
right but reads the fields loosely: `parse_etags` splits ``"a,b"`` (one
tag) in two and silently drops a malformed tag, so an unquoted ``If-Match:
7`` counts as absent; malformed dates are ignored; a resource with no
Last-Modified fails If-Unmodified-Since (§13.1.4 says ignore it); a failed
If-Match on a resource that does not exist is a 412 where §13.2.1 wants
the view's 404; and its 412 is an empty page. Here the core reads every
field strictly (400 naming it) and decides, and refusals are problems
naming the current ETag.

Writes are not checked here. A check before the write and the write itself
are two steps another writer can come between (Django's `condition` has
that race): a write is checked inside its own statement, by
`versioned_update` and `versioned_delete`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified

from .._conditional_read import ReadDecision, ReadOutcome, not_modified_fields, read_decision
from .._etag import ETag
from .._httpdate import format_http_date
from .._preconditions import SAFE_METHODS, Validators
from .._read_caching import REVALIDATE
from ._caching import add_read_caching, said_caching
from ._middleware import ResponseMiddleware
from ._problems import problem_response
from ._requests import header_lines

ValidatorsFunction = Callable[..., Validators | ETag | None]
View = Callable[..., HttpResponseBase]


def conditional(
    validators: ValidatorsFunction, *, cache_control: str | None = REVALIDATE
) -> Callable[[View], View]:
    """Answer GET and HEAD with 304, 412 or 400 before the view runs; add the validators to its 200.

    `validators` takes the view's arguments and returns the current
    `Validators` (or just an `ETag`) of the resource, or None when it does
    not exist (the view then answers its 404, whatever the preconditions
    say: RFC 9110 §13.2.1). Other methods go to the view unchecked.

    Caching as Flask's `conditional`: both answers say `cache_control`
    (``no-cache``, None: nothing) unless the view's 200 says its own; a
    view that does names it here too, for the 304 made before it runs
    (RFC 9110 §15.4.5). A decorator around this one that patches
    Cache-Control (Django's ``cache_control``) adds to it: name it here.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def conditional_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            # `read_decision` decides GET and HEAD only: spare writes the read.
            if request.method not in SAFE_METHODS:
                return view(request, *args, **kwargs)
            found = validators(request, *args, **kwargs)
            current = Validators(found) if isinstance(found, ETag) else found
            decided = read_decision(
                request.method, header_lines(request), current, cache_control=cache_control
            )
            refused = _response(decided)
            if refused is not None:
                return refused
            response = view(request, *args, **kwargs)
            if current is not None and response.status_code == 200:
                set_validators(response, current)
                add_read_caching(request, response, cache_control)
            return response

        return conditional_view

    return decorate


def answer_preconditions(
    request: Any, current: Validators | None, *, cache_control: str | None = REVALIDATE
) -> HttpResponseBase | None:
    """The 304 for a GET or HEAD whose client has the current representation, else None.

    Raises `PreconditionFailed` (412) when If-Match or If-Unmodified-Since
    fail, and `MalformedHeader` (400) for a malformed field; nothing when
    `current` is None (the caller's 404). The 304 says `cache_control`, as
    `add_read_caching` makes the 200 say.
    """
    decided = read_decision(
        request.method, header_lines(request), current, cache_control=cache_control
    )
    if decided.error is not None:
        raise decided.error
    return _response(decided)


def not_modified(
    current: Validators, *, cache_control: str | None = REVALIDATE
) -> HttpResponseNotModified:
    """A 304 carrying the validators (Last-Modified only when there is no ETag, §15.4.5),
    and `cache_control`, what its 200 says of caching when the view says nothing."""
    return _not_modified(not_modified_fields(current, cache_control=cache_control))


def set_validators(response: HttpResponseBase, current: Validators) -> None:
    """Add ETag and Last-Modified to a response that does not carry them yet."""
    if current.etag is not None and not response.has_header("ETag"):
        response["ETag"] = current.etag.to_header()
    if current.last_modified is not None and not response.has_header("Last-Modified"):
        response["Last-Modified"] = format_http_date(current.last_modified)


class ConditionalGetMiddleware(ResponseMiddleware):
    """304, 412 and 400 for any GET or HEAD, from the view's answer and the request's preconditions.

    In place of ``django.middleware.http.ConditionalGetMiddleware``, with the
    strict reading and the problem answers of `conditional`; in MIDDLEWARE,
    or on one view with ``decorator_from_middleware``. The view still builds
    the body a 304 discards; `conditional` skips that work.

    A GET's or HEAD's answer with a validator and no Cache-Control of its
    own says `cache_control` (``no-cache``: a cache asks before each use),
    and so does its 304; a subclass sets it to another value (None: nothing).
    """

    cache_control: str | None = REVALIDATE

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return self.process_response(request, response)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """The hook ``decorator_from_middleware`` calls, to use this on one view."""
        # `read_decision` decides GET and HEAD only: spare the rest the call.
        if request.method not in SAFE_METHODS:
            return response
        add_read_caching(request, response, self.cache_control)
        decided = read_decision(
            request.method, header_lines(request), response.items(), status=response.status_code
        )
        return _response(decided) or response


def _response(decided: ReadDecision) -> HttpResponseBase | None:
    """The answer in place of the view's, or None to let the view answer."""
    if decided.outcome is ReadOutcome.PROCEED:
        return None
    if decided.outcome is ReadOutcome.NOT_MODIFIED:
        return _not_modified(decided.fields)
    assert decided.error is not None
    return problem_response(decided.error)


def _not_modified(fields: Iterable[tuple[str, str]]) -> HttpResponseNotModified:
    response = HttpResponseNotModified()
    said_caching(response)  # `fields` hold what its 200 says of caching, or nothing by choice
    for name, value in fields:
        response[name] = value
    return response
