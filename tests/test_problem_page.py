"""Which requests get a problem as an HTML page, and what the page says."""

from __future__ import annotations

import pytest

from httpconflict._errors import Unavailable, WriteOutcomeUnknown
from httpconflict._problem_page import prefers_html, problem_page

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


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
