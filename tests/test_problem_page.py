"""Which requests get a problem as an HTML page, and what the page says."""

from __future__ import annotations

import gzip
import zlib

import pytest

from httpconflict._errors import (
    IdempotencyKeyInFlight,
    PreconditionFailed,
    Unavailable,
    WriteOutcomeUnknown,
)
from httpconflict._problem import IDEMPOTENCY_KEY_REUSED, INTERNAL_ERROR
from httpconflict._problem_page import (
    MAX_PROBLEM,
    answers_page,
    is_page_problem,
    negotiated_answer,
    page_answer,
    page_fields,
    paged_fields,
    prefers_html,
    problem_page,
)

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PAGE_PROBLEM = Unavailable("the database does not answer").problem.to_json()


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        pytest.param([FIREFOX], True, id="a-browser-s-form"),
        pytest.param([], False, id="no-accept-is-json"),
        pytest.param(["*/*"], False, id="fetch-and-http-libraries"),
        pytest.param(["application/json, text/html"], False, id="a-tie-is-json"),
        pytest.param(["text/html;q=0.5, application/*"], False, id="json-by-application-wildcard"),
        pytest.param(["text/html;q=0", "*/*"], False, id="rfc9110-12.4.2-q0-is-not-acceptable"),
        pytest.param(["application/problem+json;q=0.1", "TEXT/HTML"], True, id="lines-and-case"),
        pytest.param(["text/html;q=abc"], False, id="malformed-q"),
    ],
)
def test_prefers_html(accept: list[str], html: bool) -> None:
    """HTML only when named and ranked above every way of asking for JSON."""
    assert prefers_html(accept) is html


def test_the_page_says_what_to_do_and_escapes() -> None:
    """A 503's page says nothing was saved and to reload; the detail is escaped."""
    page = problem_page(Unavailable("the database <b>does not</b> answer").problem.to_json(), 503)
    text = page.decode()
    assert "The database does not answer" not in text
    assert "&lt;b&gt;does not&lt;/b&gt;" in text
    assert "Nothing was saved. Wait 1 second, then reload this page" in text
    unknown = problem_page(WriteOutcomeUnknown("lost", incident="abc123").problem.to_json(), 504)
    assert b"may or may not have been saved" in unknown
    assert b"quote incident abc123" in unknown
    assert b"Nothing was saved" in problem_page(b"not json", 400)


@pytest.mark.parametrize(
    ("method", "accept", "page"),
    [
        pytest.param("POST", [FIREFOX], True, id="a-form-s-save"),
        pytest.param("GET", [FIREFOX], True, id="a-page-s-navigation"),
        pytest.param("HEAD", [FIREFOX], False, id="head-has-no-body-to-read"),
        pytest.param("POST", ["*/*"], False, id="an-api-client"),
    ],
)
def test_answers_page(method: str, accept: list[str], page: bool) -> None:
    """A page for a request preferring HTML, but a HEAD, whose fields stay the JSON's."""
    assert answers_page(method, accept) is page


@pytest.mark.parametrize(
    ("status", "fields", "page"),
    [
        pytest.param(412, [("Content-Type", "application/problem+json")], True, id="a-problem"),
        pytest.param(
            503, [("content-type", "Application/Problem+JSON; charset=utf-8")], True, id="case"
        ),
        pytest.param(409, [("Content-Type", "application/json")], False, id="plain-json"),
        pytest.param(
            409, [("Content-Type", "application/problem+jsonx")], False, id="another-type"
        ),
        pytest.param(
            503,
            [("Content-Type", "application/problem+json"), ("Content-Encoding", "gzip")],
            True,
            id="gzip-is-read",
        ),
        pytest.param(
            503,
            [("Content-Type", "application/problem+json"), ("Content-Encoding", "br")],
            False,
            id="br-is-not",
        ),
        pytest.param(
            503,
            [("Content-Type", "application/problem+json"), ("Content-Encoding", "identity")],
            True,
            id="identity-is-no-coding",
        ),
        pytest.param(
            204, [("Content-Type", "application/problem+json")], False, id="rfc9110-15.3.5-204"
        ),
        pytest.param(
            304, [("Content-Type", "application/problem+json")], False, id="rfc9110-15.4.5-304"
        ),
        pytest.param(200, [("Content-Type", "application/problem+json")], False, id="a-2xx"),
    ],
)
def test_is_page_problem(status: int, fields: list[tuple[str, str]], page: bool) -> None:
    """An error's problem+json body, not content-coded, is what a page replaces."""
    assert is_page_problem(status, fields) is page


def test_page_fields_keep_the_answer_s_and_vary_on_accept() -> None:
    """Retry-After and Set-Cookie stay; type and length are the page's; Vary adds Accept once."""
    fields = [
        ("Content-Type", "application/problem+json"),
        ("Content-Length", "200"),
        ("Retry-After", "3"),
        ("Set-Cookie", "a=1"),
        ("Vary", "Origin"),
        ("Vary", "Accept-Encoding"),
    ]
    assert page_fields(fields, 328) == [
        ("Retry-After", "3"),
        ("Set-Cookie", "a=1"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "328"),
        ("Vary", "Origin, Accept-Encoding, Accept"),
    ]
    assert page_fields([("Vary", "*")], 1)[-1] == ("Vary", "*")


def test_a_stale_save_s_page_speaks_to_a_person() -> None:
    """412, 409 in flight, 422 reused: a person's title and advice, not If-Match or the key."""
    for problem, status, words in [
        (PreconditionFailed("stale", current_etag='"2"').problem, 412, "someone changed it"),
        (IdempotencyKeyInFlight("running", retry_after=2).problem, 409, "Wait 2 seconds, then"),
        (IDEMPOTENCY_KEY_REUSED.problem("another"), 422, "sent before with other contents"),
    ]:
        text = problem_page(problem.to_json(), status).decode()
        assert words in text
        for api_word in ("If-Match", "Idempotency-Key", "ETag"):
            assert api_word not in text


@pytest.mark.parametrize(
    ("coding", "coded", "page"),
    [
        pytest.param("", PAGE_PROBLEM, True, id="as-is"),
        pytest.param("gzip", gzip.compress(PAGE_PROBLEM), True, id="gzip"),
        pytest.param("X-GZip", gzip.compress(PAGE_PROBLEM), True, id="rfc9110-8.4.1.3-x-gzip"),
        pytest.param("deflate", zlib.compress(PAGE_PROBLEM), True, id="rfc9110-8.4.1.2-zlib"),
        pytest.param("identity, gzip", gzip.compress(PAGE_PROBLEM), True, id="identity-skipped"),
        pytest.param("deflate", zlib.compress(PAGE_PROBLEM)[2:-4], False, id="raw-deflate"),
        pytest.param("gzip", b"x" * (MAX_PROBLEM + 1), False, id="past-the-limit-as-sent"),
        pytest.param("gzip", gzip.compress(b" " * (MAX_PROBLEM + 1)), False, id="decoded"),
    ],
)
def test_page_answer_reads_the_problem_or_gives_up(coding: str, coded: bytes, page: bool) -> None:
    """A page from a problem sent as is or gzip/deflate-coded; None: send it as it came."""
    fields = [("Content-Type", "application/problem+json"), ("Content-Encoding", coding)]
    answer = page_answer(503, fields, coded)
    if not page:
        assert answer is None
        return
    assert answer is not None
    given, body = answer
    assert b"Nothing was saved. Wait 1 second" in body
    assert ("Content-Length", str(len(body))) in given
    assert all(name != "Content-Encoding" for name, _ in given)


def test_a_problem_made_apart_from_the_pages_is_answered_as_they_would_be() -> None:
    """A page where pages are made for the request, JSON varying on Accept, or JSON as it is."""
    fields = [("Content-Type", "application/problem+json"), ("Vary", "Origin")]
    assert negotiated_answer(None, 503, fields, PAGE_PROBLEM) == (fields, PAGE_PROBLEM)
    api = negotiated_answer(False, 503, fields, PAGE_PROBLEM)
    assert api == ([fields[0], ("Vary", "Origin, Accept")], PAGE_PROBLEM)
    given, page = negotiated_answer(True, 503, fields, PAGE_PROBLEM)
    assert page.startswith(b"<!doctype html>")
    assert ("Vary", "Origin, Accept") in given
    unreadable = [("Content-Type", "application/problem+json"), ("Content-Encoding", "br")]
    assert negotiated_answer(True, 503, unreadable, b"x")[1] == b"x"


def test_a_server_error_s_page_speaks_to_a_person() -> None:
    """A 500's page: a person's title and advice and the incident, not its detail's API words."""
    problem = INTERNAL_ERROR.problem(
        "the server failed; its Idempotency-Key is released", incident="0123456789ab"
    )
    text = problem_page(problem.to_json(), 500).decode()
    assert "Something went wrong on the server" in text
    assert "may or may not have been saved" in text
    assert "quote incident 0123456789ab" in text
    assert "Idempotency-Key" not in text


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        pytest.param(
            409,
            [("Content-Type", "application/problem+json")],
            [("Content-Type", "application/problem+json"), ("Vary", "Accept")],
            id="a-problem-varies",
        ),
        pytest.param(
            404,
            [("Content-Type", "application/problem+json"), ("Vary", "Origin")],
            [("Content-Type", "application/problem+json"), ("Vary", "Origin, Accept")],
            id="added-to-the-app-s-vary",
        ),
        pytest.param(
            412,
            [("Content-Type", "application/problem+json"), ("Content-Encoding", "br")],
            [("Content-Type", "application/problem+json"), ("Content-Encoding", "br")],
            id="one-no-page-reads-stays",
        ),
        pytest.param(200, [("Content-Type", "application/json")], None, id="a-2xx-stays"),
        pytest.param(404, [("Content-Type", "text/plain")], None, id="no-problem-stays"),
    ],
)
def test_paged_fields_vary_where_a_browser_would_get_a_page(
    status: int, fields: list[tuple[str, str]], expected: list[tuple[str, str]] | None
) -> None:
    """Any client's problem says Vary: Accept where a browser's is a page; the rest as it is."""
    assert paged_fields(status, fields) == (fields if expected is None else expected)
