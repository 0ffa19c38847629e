"""A browser's problem answers as pages: `problem_pages` wraps a WSGI call.

The core decides which answers are problems to hold (`is_page_problem`:
an error's ``application/problem+json`` body, as is or gzip-coded), the
page and its fields (`page_answer`: the answer's, with the page's type
and length and ``Vary: Accept``); this module only holds such an
answer's body until it is whole. Any other answer goes out untouched, as
it came, and so does a problem the core makes no page of (past
`MAX_PROBLEM` bytes, or not decoding), with ``Vary: Accept`` as the core
gives it (`paged_fields`), which `varying` gives the answers of requests
that get no page. An app that calls start_response
only once its body is iterated (no framework's does) is passed on as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._problem_page import is_page_problem, page_answer, paged_fields
from ._answers import Headers, StartResponse, WSGIEnvironment

__all__ = ["problem_pages", "varying"]


def problem_pages(
    call: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]],
    environ: WSGIEnvironment,
    start_response: StartResponse,
) -> Iterable[bytes]:
    """`call`'s answer, its problem (if any) as an HTML page."""
    held: dict[str, Any] = {}
    written: list[bytes] = []
    returned = False

    def start(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], object]:
        code = int(status.split(" ", 1)[0])
        if returned or not is_page_problem(code, list(headers)):
            return start_response(status, headers, exc_info)
        held.update(status=status, headers=headers, exc_info=exc_info)
        return written.append

    result = call(environ, start)
    returned = True
    if not held:
        return result
    try:
        body = b"".join([*written, *result])
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status: str = held["status"]
    answer = page_answer(int(status.split(" ", 1)[0]), list(held["headers"]), body)
    if answer is None:  # past the limit, or not readable: as it came
        fields = paged_fields(int(status.split(" ", 1)[0]), list(held["headers"]))
        start_response(status, fields, held["exc_info"])
        return [body]
    fields, page = answer
    start_response(status, fields, held["exc_info"])
    return [page]


def varying(start_response: StartResponse) -> StartResponse:
    """`start_response` giving an answer the fields the core gives it where pages are made.

    For a request that gets no page (an API client's, a HEAD): its problem
    says ``Vary: Accept`` all the same (`paged_fields`).
    """

    def start(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], object]:
        fields = paged_fields(int(status.split(" ", 1)[0]), list(headers))
        return start_response(status, fields, exc_info)

    return start
