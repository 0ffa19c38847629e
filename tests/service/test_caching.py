"""Every cacheable answer of the service has a validator and a Cache-Control, and revalidates.

Over real HTTP: a full GET gives a validator, the same GET with it in
If-None-Match gives a 304 that repeats the validator and Cache-Control,
and whatever says nothing of caching (a health check, a problem) says
``no-store``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.servers import ServiceProcess, start_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    db = str(tmp_path_factory.mktemp("db") / "service.db")
    with start_service(db, tmp_path_factory.mktemp("log")) as running:
        with running.client() as http:
            http.put("/v1/cached/a", json={"n": 1}, headers={"If-None-Match": "*"})
            http.put("/v1/cached/b", json={"n": 2}, headers={"If-None-Match": "*"})
        yield running


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


RESOURCES = [
    pytest.param("/v1/cached/a", "no-cache", False, id="document"),
    pytest.param("/v1/cached", "no-cache", True, id="list"),
    pytest.param("/v1/cached/a/versions", "no-cache", True, id="versions"),
    pytest.param("/openapi.json", "no-cache", False, id="openapi"),
    pytest.param("/", "no-cache", False, id="editor"),
    pytest.param("/editor/editor.js", "no-cache", False, id="editor-script"),
    pytest.param("/problems/precondition-failed", "max-age=86400", False, id="problem-page"),
]


@pytest.mark.parametrize(("path", "cache_control", "weak"), RESOURCES)
def test_a_cacheable_answer_has_a_validator_and_revalidates(
    http: httpx.Client, path: str, cache_control: str, weak: bool
) -> None:
    """A validator and a deliberate Cache-Control; If-None-Match with it is a 304 repeating both."""
    full = http.get(path)
    assert full.status_code == 200
    etag = full.headers["etag"]
    assert etag.startswith('W/"') is weak
    assert full.headers["cache-control"] == cache_control
    again = http.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert (again.headers["etag"], again.headers["cache-control"]) == (etag, cache_control)


def test_a_page_validator_changes_with_any_member(http: httpx.Client) -> None:
    """A list's weak ETag names what it lists: an update of one member makes the old one a 200."""
    before = http.get("/v1/cached").headers["etag"]
    etag = http.get("/v1/cached/b").headers["etag"]
    assert http.put("/v1/cached/b", json={"n": 3}, headers={"If-Match": etag}).status_code == 200
    after = http.get("/v1/cached", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before
    versions = http.get("/v1/cached/b/versions")
    assert [item["document"] for item in versions.json()["items"]] == [{"n": 3}, {"n": 2}]


def test_a_weak_page_validator_never_satisfies_if_match(http: httpx.Client) -> None:
    """RFC 9110 §13.1.1: If-Match compares strongly, so a page's own weak tag fails it (412)."""
    etag = http.get("/v1/cached").headers["etag"]
    assert http.get("/v1/cached", headers={"If-Match": etag}).status_code == 412


def test_an_answer_to_an_authenticated_caller_is_private(http: httpx.Client) -> None:
    """With Authorization, a document or a page is that caller's: private, no-cache."""
    for path in ("/v1/cached/a", "/v1/cached", "/v1/cached/a/versions"):
        answer = http.get(path, headers={"Authorization": "Bearer someone"})
        assert answer.headers["cache-control"] == "private, no-cache"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/healthz", 200, id="health"),
        pytest.param("GET", "/v1/cached/absent", 404, id="not-found-problem"),
        pytest.param("DELETE", "/v1/cached/a", 428, id="refusal"),
    ],
)
def test_what_says_nothing_of_caching_is_not_stored(
    http: httpx.Client, method: str, path: str, status: int
) -> None:
    """A health check or a problem describes one moment: no-store."""
    answer = http.request(method, path)
    assert answer.status_code == status
    assert answer.headers["cache-control"] == "no-store"
