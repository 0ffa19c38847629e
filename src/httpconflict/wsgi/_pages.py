"""A browser's problem answers as pages: `problem_pages` wraps a WSGI call.

The answer's status and header fields stay; an ``application/problem+json``
body becomes the core's page (`_problem_page`) when the request prefers
HTML. An app whose answer is no problem goes out untouched, as it came.
An app that calls start_response only once its body is iterated (no
framework's does) is passed on as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._problem import MEDIA_TYPE
from .._problem_page import HTML, problem_page
from ._answers import Headers, StartResponse, WSGIEnvironment

__all__ = ["problem_pages"]


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
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        if returned or not content_type.lower().startswith(MEDIA_TYPE):
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
    page = problem_page(body, int(status.split(" ", 1)[0]))
    kept = [
        (n, v) for n, v in held["headers"] if n.lower() not in ("content-type", "content-length")
    ]
    fields = [*kept, ("Content-Type", HTML), ("Content-Length", str(len(page)))]
    start_response(status, fields, held["exc_info"])
    return [page]
