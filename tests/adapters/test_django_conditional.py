"""Conditional GET and HEAD in Django: the decorator, the DRF mixin and the middleware.

Each runs in the test project (django_notes.py) as a real server process;
the same RFC 9110 rules are checked on all three: weak comparison for
If-None-Match, strong for If-Match, lists, "*", HEAD, and §13.2.2 order.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.adapters.django_servers import create_note, notes_server
from tests.problems import assert_problem


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log_dir = tmp_path_factory.mktemp("django-conditional")
    with (
        notes_server(str(log_dir / "notes.db"), log_dir) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


@pytest.fixture(params=["decorator", "drf", "middleware"])
def resource(request: pytest.FixtureRequest, http: httpx.Client) -> tuple[str, str]:
    """A URL and its current ETag, served by each of the three mechanisms."""
    if request.param == "decorator":
        return create_note(http)
    if request.param == "drf":
        return create_note(http, "/api")
    return "/tagged", http.get("/tagged").headers["etag"]


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        pytest.param("{etag}", 304, id="same"),
        pytest.param("W/{etag}", 304, id="rfc9110-13.1.2-weak-comparison"),
        pytest.param('"other", {etag}', 304, id="in-a-list"),
        pytest.param('"other",{etag} , W/"x"', 304, id="list-without-spaces"),
        pytest.param("*", 304, id="star-matches-what-exists"),
        pytest.param('"other"', 200, id="another-tag"),
        pytest.param('W/"other", "again"', 200, id="a-list-without-it"),
    ],
)
def test_if_none_match(
    http: httpx.Client, resource: tuple[str, str], if_none_match: str, status: int
) -> None:
    """If-None-Match answers 304 exactly when a listed tag weakly matches (or is *)."""
    url, etag = resource
    answer = http.get(url, headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert answer.status_code == status
    assert answer.headers["etag"] == etag
    if status == 304:
        assert answer.content == b""


def test_head_answers_like_get(http: httpx.Client, resource: tuple[str, str]) -> None:
    """HEAD carries the ETag and no body, and is answered 304 like GET."""
    url, etag = resource
    head = http.head(url)
    assert (head.status_code, head.headers["etag"], head.content) == (200, etag, b"")
    assert http.head(url, headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        pytest.param("{etag}", 200, id="current"),
        pytest.param('"other", {etag}', 200, id="in-a-list"),
        pytest.param("*", 200, id="star"),
        pytest.param('"other"', 412, id="another"),
        pytest.param("W/{etag}", 412, id="rfc9110-13.1.1-weak-never-matches-if-match"),
    ],
)
def test_if_match_on_get(
    http: httpx.Client, resource: tuple[str, str], if_match: str, status: int
) -> None:
    """A GET whose If-Match fails is a 412 naming the current ETag."""
    url, etag = resource
    answer = http.get(url, headers={"If-Match": if_match.format(etag=etag)})
    if status == 412:
        assert assert_problem(answer, 412, "precondition-failed")["current_etag"] == etag
    else:
        assert answer.status_code == 200


def test_if_match_is_evaluated_before_if_none_match(
    http: httpx.Client, resource: tuple[str, str]
) -> None:
    """RFC 9110 §13.2.2: a failed If-Match wins over a matching If-None-Match."""
    url, etag = resource
    answer = http.get(url, headers={"If-Match": '"other"', "If-None-Match": etag})
    assert_problem(answer, 412, "precondition-failed")


def test_a_malformed_field_is_a_400_naming_it(
    http: httpx.Client, resource: tuple[str, str]
) -> None:
    """An unquoted tag is refused (Django's parse_etags would drop it silently)."""
    url, _ = resource
    body = assert_problem(http.get(url, headers={"If-None-Match": "1"}), 400, "malformed-header")
    assert body["header"] == "If-None-Match"


def test_a_tag_with_a_comma_is_one_tag(http: httpx.Client) -> None:
    """'"a,b"' is one entity-tag (a comma is a valid etagc), not two."""
    assert http.get("/tagged").headers["etag"] == '"a,b"'
    assert http.get("/tagged", headers={"If-None-Match": '"a,b"'}).status_code == 304
    assert http.get("/tagged", headers={"If-None-Match": '"a"'}).status_code == 200


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_preconditions_on_a_missing_note_are_ignored(http: httpx.Client, prefix: str) -> None:
    """RFC 9110 §13.2.1: the answer without them would be a 404, so it is a 404, not a 412."""
    answer = http.get(f"{prefix}/notes/987654", headers={"If-Match": '"1"'})
    assert_problem(answer, 404, "not-found")


def test_the_decorator_sends_last_modified_and_304_keeps_only_the_etag(
    http: httpx.Client,
) -> None:
    """A 200 carries both validators; a 304 repeats the ETag alone (RFC 9110 §15.4.5)."""
    url, etag = create_note(http)
    first = http.get(url)
    assert first.headers["etag"] == etag
    assert first.headers["last-modified"].endswith(" GMT")
    revalidated = http.get(url, headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert "last-modified" not in revalidated.headers


NOON = "Thu, 01 Jan 2026 12:00:00 GMT"
EARLIER = "Thu, 01 Jan 2026 11:59:59 GMT"
LATER = "Thu, 01 Jan 2026 12:00:01 GMT"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"If-Modified-Since": NOON}, 304, id="ims-equal"),
        pytest.param({"If-Modified-Since": LATER}, 304, id="ims-later"),
        pytest.param({"If-Modified-Since": EARLIER}, 200, id="ims-earlier"),
        pytest.param({"If-Unmodified-Since": NOON}, 200, id="ius-equal"),
        pytest.param({"If-Unmodified-Since": EARLIER}, 412, id="ius-earlier"),
        pytest.param(
            {"If-None-Match": '"x"', "If-Modified-Since": LATER},
            200,
            id="rfc9110-13.1.3-ims-ignored-with-if-none-match",
        ),
        pytest.param({"If-Modified-Since": "yesterday"}, 400, id="malformed-date"),
    ],
)
def test_dates(http: httpx.Client, headers: dict[str, str], status: int) -> None:
    """A resource with only a modification date is revalidated by date, in §13.2.2 order."""
    answer = http.get("/clock", headers=headers)
    assert answer.status_code == status
    if status == 304:
        assert answer.headers["last-modified"] == NOON  # no ETag: Last-Modified guides caches
    if status >= 400:
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("kind", ["drf", "middleware"])
def test_if_unmodified_since_is_ignored_without_a_modification_date(
    http: httpx.Client, kind: str
) -> None:
    """RFC 9110 §13.1.4: no Last-Modified, nothing to compare (Django's condition says 412)."""
    url = create_note(http, "/api")[0] if kind == "drf" else "/tagged"
    assert "last-modified" not in http.get(url).headers
    assert http.get(url, headers={"If-Unmodified-Since": EARLIER}).status_code == 200
