"""IdempotencyMiddleware (WSGI): the same answers become pages as under ASGI, the rest as they came.

The app answers a request with no key (the middleware passes it on) with
chosen fields and body; the test reads what the server is given.
tests/adapters/test_asgi_problem_pages.py holds the ASGI middleware to
the same decisions, which the core makes (`_problem_page`).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from typing import Any

import pytest

from httpconflict import Unavailable
from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PROBLEM = Unavailable("the database does not answer", retry_after=3).problem.to_json()
PROBLEM_FIELDS = [
    ("Content-Type", "application/problem+json"),
    ("Content-Length", str(len(PROBLEM))),
    ("Retry-After", "3"),
]


def run(
    status: str,
    headers: list[tuple[str, str]],
    chunks: list[bytes],
    *,
    method: str = "POST",
    pages: bool = True,
    accept: str = FIREFOX,
) -> tuple[str, list[tuple[str, str]], bytes]:
    """The status line, fields and body the server is given for the app's answer."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response(status, headers)
        return chunks

    given: list[Any] = []

    def start_response(line: str, fields: list[tuple[str, str]], exc_info: Any = None) -> Any:
        given.extend([line, fields])
        return lambda data: None

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/x",
        "QUERY_STRING": "",
        "HTTP_ACCEPT": accept,
        "wsgi.input": None,
    }
    middleware = IdempotencyMiddleware(
        app, store=MemoryIdempotencyStore(), policy=IdempotencyPolicy(), pages=pages
    )
    sent = b"".join(middleware(environ, start_response))
    return given[0], given[1], sent


def test_a_browser_s_problem_is_a_page_with_its_length_and_vary_accept() -> None:
    """Status and Retry-After kept; the page's type and length; Vary: Accept."""
    line, fields, page = run("503 Service Unavailable", PROBLEM_FIELDS, [PROBLEM])
    assert line == "503 Service Unavailable"
    assert dict(fields) == {
        "Retry-After": "3",
        "Content-Type": "text/html; charset=utf-8",
        "Content-Length": str(len(page)),
        "Vary": "Accept",
    }
    assert b"Nothing was saved. Wait 3 seconds, then reload this page" in page


def test_pages_off_leaves_a_browser_s_problem_as_json() -> None:
    """``pages=False`` (an API): the app's problem goes out as it was sent."""
    answer = ("503 Service Unavailable", PROBLEM_FIELDS, PROBLEM)
    assert run(*answer[:2], [PROBLEM], pages=False) == answer


def test_a_head_is_json_with_vary_accept() -> None:
    """A HEAD has no body to read the problem from: its fields stay the JSON's, and vary."""
    assert run("503 Service Unavailable", PROBLEM_FIELDS, [], method="HEAD") == (
        "503 Service Unavailable",
        [*PROBLEM_FIELDS, ("Vary", "Accept")],
        b"",
    )


@pytest.mark.parametrize("accept", ["application/json", "*/*", ""])
def test_an_api_client_s_problem_is_the_app_s_json_with_vary_accept(accept: str) -> None:
    """Its bytes as the app sent them; Vary: Accept, or a cache gives it to the next browser."""
    assert run("503 Service Unavailable", PROBLEM_FIELDS, [PROBLEM], accept=accept) == (
        "503 Service Unavailable",
        [*PROBLEM_FIELDS, ("Vary", "Accept")],
        PROBLEM,
    )


def test_a_gzip_coded_problem_is_a_page_sent_as_is() -> None:
    """Django's GZipMiddleware inside: the page is read from the gzip bytes, sent uncoded."""
    coded = gzip.compress(PROBLEM)
    fields = [
        ("Content-Type", "application/problem+json"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", str(len(coded))),
    ]
    _, given, page = run("503 Service Unavailable", fields, [coded])
    assert dict(given) == {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Length": str(len(page)),
        "Vary": "Accept",
    }
    assert b"Nothing was saved. Wait 3 seconds" in page


def test_a_problem_coded_so_no_page_can_read_it_is_untouched() -> None:
    """A br body: its fields and bytes go out as they came."""
    fields = [("Content-Type", "application/problem+json"), ("Content-Encoding", "br")]
    assert run("503 Service Unavailable", fields, [b"\x1b\x00"]) == (
        "503 Service Unavailable",
        fields,
        b"\x1b\x00",
    )


@pytest.mark.parametrize("line", ["204 No Content", "304 Not Modified", "200 OK"])
def test_answers_that_are_no_error_are_untouched(line: str) -> None:
    """204 and 304 have no body; a 2xx is no refusal, whatever its type says."""
    fields = [("Content-Type", "application/problem+json"), ("ETag", '"7"')]
    assert run(line, fields, []) == (line, fields, b"")
