"""ConditionalMiddleware on a real uvicorn process: 304 and 412 from the app's own 200.

The app (tests/adapters/apps.py) answers every path with a 200 whose
validators differ per path; the middleware alone decides 304 and 412.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.adapters.apps import LAST_MODIFIED
from tests.servers import start_app

EARLIER = "Tue, 01 Dec 2026 11:59:59 GMT"
LATER = "Tue, 01 Dec 2026 12:00:01 GMT"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log_dir = tmp_path_factory.mktemp("conditional")
    with (
        start_app("tests.adapters.apps:conditional_app", log_dir, probe="/healthz") as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield http


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        pytest.param("GET", "/strong", {}, 200, id="no-precondition"),
        pytest.param("GET", "/strong", {"If-None-Match": '"v2"'}, 304, id="inm-equal"),
        pytest.param(
            "GET", "/strong", {"If-None-Match": 'W/"v2"'}, 304, id="rfc9110-13.1.2-inm-weak-compare"
        ),
        pytest.param("GET", "/weak", {"If-None-Match": '"v2"'}, 304, id="inm-strong-vs-weak-etag"),
        pytest.param("GET", "/strong", {"If-None-Match": '"a", "v2"'}, 304, id="inm-list"),
        pytest.param("GET", "/strong", {"If-None-Match": '"a", W/"b"'}, 200, id="inm-list-miss"),
        pytest.param("GET", "/strong", {"If-None-Match": "*"}, 304, id="inm-star-exists"),
        pytest.param("GET", "/none", {"If-None-Match": "*"}, 304, id="inm-star-without-etag"),
        pytest.param("GET", "/strong", {"If-None-Match": '"v1"'}, 200, id="inm-other"),
        pytest.param("HEAD", "/strong", {"If-None-Match": '"v2"'}, 304, id="head-304"),
        pytest.param("GET", "/strong", {"If-Match": '"v2"'}, 200, id="if-match-holds"),
        pytest.param("GET", "/strong", {"If-Match": '"v1"'}, 412, id="if-match-stale"),
        pytest.param(
            "GET", "/strong", {"If-Match": 'W/"v2"'}, 412, id="rfc9110-13.1.1-weak-never-matches"
        ),
        pytest.param("GET", "/weak", {"If-Match": '"v2"'}, 412, id="if-match-weak-etag"),
        pytest.param("GET", "/strong", {"If-Match": '"v1", "v2"'}, 200, id="if-match-list"),
        pytest.param("GET", "/none", {"If-Match": "*"}, 200, id="if-match-star-without-etag"),
        pytest.param("GET", "/none", {"If-Match": '"v2"'}, 412, id="if-match-without-etag"),
        pytest.param("HEAD", "/strong", {"If-Match": '"v1"'}, 412, id="head-412"),
        pytest.param("GET", "/dated", {"If-Unmodified-Since": EARLIER}, 412, id="ius-older"),
        pytest.param("GET", "/dated", {"If-Unmodified-Since": LAST_MODIFIED}, 200, id="ius-equal"),
        pytest.param(
            "GET",
            "/strong",
            {"If-Match": '"v2"', "If-Unmodified-Since": EARLIER},
            200,
            id="rfc9110-13.2.2-ius-ignored-with-if-match",
        ),
        pytest.param("GET", "/dated", {"If-Modified-Since": LAST_MODIFIED}, 304, id="ims-equal"),
        pytest.param("GET", "/dated", {"If-Modified-Since": LATER}, 304, id="ims-later"),
        pytest.param("GET", "/dated", {"If-Modified-Since": EARLIER}, 200, id="ims-earlier"),
        pytest.param(
            "GET",
            "/strong",
            {"If-None-Match": '"v1"', "If-Modified-Since": LATER},
            200,
            id="rfc9110-13.2.2-ims-ignored-with-inm",
        ),
        pytest.param(
            "GET",
            "/strong",
            {"If-Match": '"v1"', "If-None-Match": '"v2"'},
            412,
            id="rfc9110-13.2.2-if-match-first",
        ),
        pytest.param("GET", "/missing", {"If-None-Match": "*"}, 404, id="rfc9110-13.2.1-404-stays"),
        pytest.param("GET", "/missing", {"If-Match": '"zz"'}, 404, id="404-ignores-if-match"),
        pytest.param("POST", "/strong", {"If-None-Match": '"v2"'}, 200, id="post-untouched"),
        pytest.param("GET", "/strong", {"If-None-Match": "v2"}, 400, id="malformed-inm"),
        pytest.param("GET", "/dated", {"If-Modified-Since": "yesterday"}, 400, id="malformed-date"),
    ],
)
def test_status(
    client: httpx.Client, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    """The middleware answers per RFC 9110 §13.2.2 from the app's validators."""
    response = client.request(method, path, headers=headers)
    assert response.status_code == status
    if status in (400, 412):
        assert response.headers["content-type"] == "application/problem+json"


def test_not_modified_keeps_only_the_listed_fields(client: httpx.Client) -> None:
    """A 304 repeats ETag, Cache-Control, Vary, Content-Location, Expires, Date (§15.4.5)."""
    response = client.get("/strong", headers={"If-None-Match": '"v2"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == '"v2"'
    assert response.headers["cache-control"] == "max-age=60"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-location"] == "/here"
    assert response.headers["expires"] == "Tue, 01 Dec 2026 13:00:00 GMT"
    assert "date" in response.headers
    for dropped in ("content-type", "set-cookie", "x-debug", "last-modified"):
        assert dropped not in response.headers


def test_not_modified_by_date_keeps_last_modified(client: httpx.Client) -> None:
    """Without an ETag, a 304 keeps Last-Modified: it is what a cache revalidates with."""
    response = client.get("/dated", headers={"If-Modified-Since": LAST_MODIFIED})
    assert response.status_code == 304
    assert response.headers["last-modified"] == LAST_MODIFIED


def test_precondition_failed_names_the_current_etag(client: httpx.Client) -> None:
    """A failed If-Match on GET is a 412 problem whose current_etag is the app's ETag."""
    response = client.get("/strong", headers={"If-Match": '"v1"'})
    problem = response.json()
    assert problem["type"] == "https://httpconflict.dev/problems/precondition-failed"
    assert problem["current_etag"] == '"v2"'


def test_a_200_passes_through_whole(client: httpx.Client) -> None:
    """When the preconditions hold, the app's streamed answer arrives unchanged."""
    response = client.get("/strong", headers={"If-Match": '"v2"', "If-None-Match": '"v1"'})
    assert response.content == b"first chunk, second chunk"
    assert response.headers["set-cookie"] == "session=secret"


def test_head_not_modified_has_no_body(client: httpx.Client) -> None:
    """HEAD gets the same 304 as GET, and no body."""
    response = client.head("/weak", headers={"If-None-Match": '"v2"'})
    assert (response.status_code, response.content) == (304, b"")
    assert response.headers["etag"] == 'W/"v2"'


def test_a_raised_problem_error_is_the_answer(client: httpx.Client) -> None:
    """ProblemMiddleware answers a ProblemError the app raises with its problem."""
    response = client.get("/raise")
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "send If-Match"


def test_send_error_sends_retry_after(client: httpx.Client) -> None:
    """send_error answers with the error's problem and its Retry-After."""
    response = client.get("/busy")
    assert (response.status_code, response.headers["retry-after"]) == (503, "3")
    assert response.json()["retry_after"] == 3


def test_an_error_after_the_answer_began_is_not_hidden(client: httpx.Client) -> None:
    """Once the app began its answer, the error is re-raised: the answer is cut short."""
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/late")
