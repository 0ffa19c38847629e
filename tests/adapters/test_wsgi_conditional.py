"""httpconflict.wsgi.ConditionalMiddleware around a plain WSGI app (werkzeug's test client)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.test import Client

from httpconflict.wsgi import ConditionalMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

LAST_MODIFIED = "Fri, 02 Jan 2026 03:04:05 GMT"


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """/page has validators and cache headers, /bare none, /gone is a 404, /raw streams."""
    path = environ["PATH_INFO"]
    if path == "/gone":
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("ETag", '"p1"')])
        return [b"gone"]
    headers = [("Content-Type", "text/plain"), ("Content-Length", "5")]
    if path == "/page":
        headers += [
            ("ETag", '"p1"'),
            ("Last-Modified", LAST_MODIFIED),
            ("Cache-Control", "max-age=60"),
            ("Vary", "Accept"),
            ("Set-Cookie", "a=b"),
        ]
    start_response("200 OK", headers)
    return iter([b"he", b"llo"])


@pytest.fixture
def client() -> Client:
    return Client(ConditionalMiddleware(app))


def test_a_matching_if_none_match_is_a_304_with_the_cache_headers(client: Client) -> None:
    """RFC 9110 §15.4.5: the 304 keeps ETag, Cache-Control, Vary...; drops the body and the rest."""
    answer = client.get("/page", headers={"If-None-Match": 'W/"p1"'})
    assert answer.status_code == 304
    assert answer.data == b""
    assert answer.headers["ETag"] == '"p1"'
    assert answer.headers["Cache-Control"] == "max-age=60"
    assert answer.headers["Vary"] == "Accept"
    assert "Set-Cookie" not in answer.headers
    assert "Content-Length" not in answer.headers


def test_no_match_passes_the_answer_on_untouched(client: Client) -> None:
    """Another tag: the app's own answer, body and headers as it gave them."""
    answer = client.get("/page", headers={"If-None-Match": '"p0"'})
    assert answer.status_code == 200
    assert answer.data == b"hello"
    assert answer.headers["Set-Cookie"] == "a=b"


def test_if_modified_since(client: Client) -> None:
    """Not modified since the date the client has: 304."""
    assert client.get("/page", headers={"If-Modified-Since": LAST_MODIFIED}).status_code == 304


def test_a_failed_if_match_is_a_412_problem(client: Client) -> None:
    """Strong comparison: a weak tag fails; the problem names the current tag."""
    answer = client.get("/page", headers={"If-Match": 'W/"p1"'})
    assert answer.status_code == 412
    assert answer.content_type == "application/problem+json"
    assert answer.json is not None
    assert answer.json["current_etag"] == '"p1"'


def test_head_keeps_the_content_length_of_get(client: Client) -> None:
    """A HEAD that passes keeps the app's Content-Length (the GET's), not the empty body's."""
    answer = client.head("/page", headers={"If-None-Match": '"p0"'})
    assert answer.status_code == 200
    assert answer.headers["Content-Length"] == "5"
    assert client.head("/page", headers={"If-None-Match": '"p1"'}).status_code == 304


def test_a_malformed_header_is_400(client: Client) -> None:
    """An unquoted tag is a 400 problem naming the header."""
    answer = client.get("/page", headers={"If-None-Match": "p1"})
    assert answer.status_code == 400
    assert answer.json is not None
    assert answer.json["header"] == "If-None-Match"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        pytest.param("GET", "/gone", {"If-None-Match": '"p1"'}, 404, id="a-404-stays"),
        pytest.param("PUT", "/page", {"If-Match": '"p0"'}, 200, id="writes-are-not-its-job"),
        pytest.param("GET", "/page", {}, 200, id="unconditional"),
    ],
)
def test_what_it_leaves_alone(
    client: Client, method: str, path: str, headers: dict[str, Any], status: int
) -> None:
    """§13.2.1: non-2xx answers ignore preconditions; writes and plain GETs pass through."""
    assert client.open(path, method=method, headers=headers).status_code == status


def test_an_answer_without_validators_is_still_a_representation(client: Client) -> None:
    """RFC 9110 §13.1.1, §13.1.2: "*" matches a 200 without validators; no tag does."""
    assert client.get("/bare", headers={"If-None-Match": "*"}).status_code == 304
    assert client.get("/bare", headers={"If-Match": "*"}).status_code == 200
    refused = client.get("/bare", headers={"If-Match": '"p1"'})
    assert refused.status_code == 412
    assert refused.json is not None
    assert refused.json["current_etag"] is None
