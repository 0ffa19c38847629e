"""The service's HTTP contract, row by row, against a real server process.

Runs once on SQLite and once on PostgreSQL (the `service` fixture).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from openapi_spec_validator import validate

from httpconflict import ETag, parse_http_date
from tests.problems import assert_problem
from tests.servers import ServiceProcess

JSON = {"content-type": "application/json"}


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


@pytest.fixture
def url() -> str:
    return f"/v1/notes/{uuid.uuid4().hex}"


def create(http: httpx.Client, url: str, body: bytes = b'{"title": "a"}') -> str:
    response = http.put(url, content=body, headers={**JSON, "If-None-Match": "*"})
    assert response.status_code == 201, response.text
    return response.headers["etag"]


def test_healthz(http: httpx.Client) -> None:
    """GET /healthz answers 200 naming each dependency up while they answer."""
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "up", "idempotency_keys": "up"},
    }


def test_get_absent_is_404_problem(http: httpx.Client, url: str) -> None:
    """GET of a document that does not exist: 404 problem."""
    assert_problem(http.get(url), 404, "not-found")
    assert_problem(http.get(url, headers={"If-Match": '"x"'}), 404, "not-found")


def test_create_with_if_none_match_star(http: httpx.Client, url: str) -> None:
    """PUT If-None-Match: * creates (201) with ETag and Last-Modified, and echoes the body."""
    body = b'{"title":  "spaces kept", "n": 1.50}'
    response = http.put(url, content=body, headers={**JSON, "If-None-Match": "*"})
    assert response.status_code == 201
    assert response.content == body
    assert response.headers["etag"] == ETag.from_content(body).to_header()
    parse_http_date(response.headers["last-modified"])


def test_create_twice_is_412(http: httpx.Client, url: str) -> None:
    """PUT If-None-Match: * on an existing document: 412 naming the current ETag."""
    etag = create(http, url)
    response = http.put(url, content=b'{"other": 1}', headers={**JSON, "If-None-Match": "*"})
    problem = assert_problem(response, 412, "precondition-failed")
    assert problem["current_etag"] == etag
    assert "already exists" in problem["detail"]


def test_get_returns_the_bytes_stored(http: httpx.Client, url: str) -> None:
    """GET answers the exact bytes written, with the strong ETag and Last-Modified."""
    body = b'{"z": 1,\n "a": [true, null]}'
    etag = create(http, url, body)
    response = http.get(url)
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["etag"] == etag
    assert not etag.startswith("W/")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-cache"
    parse_http_date(response.headers["last-modified"])


def test_head(http: httpx.Client, url: str) -> None:
    """HEAD gives GET's headers and no body."""
    create(http, url)
    get, head = http.get(url), http.head(url)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "last-modified", "content-length", "content-type"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_gives_304(http: httpx.Client, url: str, method: str) -> None:
    """If-None-Match naming the current ETag (weak comparison): 304 with the ETag, no body."""
    etag = create(http, url)
    for value in (etag, "W/" + etag, f'"other", {etag}', "*"):
        response = http.request(method, url, headers={"If-None-Match": value})
        assert response.status_code == 304, value
        assert response.content == b""
        assert response.headers["etag"] == etag
    assert http.request(method, url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_modified_since(http: httpx.Client, url: str) -> None:
    """If-Modified-Since at Last-Modified: 304; earlier: 200; ignored beside If-None-Match."""
    create(http, url)
    last_modified = http.get(url).headers["last-modified"]
    assert http.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = "Thu, 01 Jan 2015 00:00:00 GMT"
    assert http.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    both = {"If-Modified-Since": last_modified, "If-None-Match": '"other"'}
    assert http.get(url, headers=both).status_code == 200


def test_get_with_failing_if_match_is_412(http: httpx.Client, url: str) -> None:
    """GET with a stale If-Match: 412."""
    create(http, url)
    assert_problem(http.get(url, headers={"If-Match": '"stale"'}), 412, "precondition-failed")


def test_replace_with_current_if_match(http: httpx.Client, url: str) -> None:
    """PUT If-Match: current ETag replaces (200) and answers the new ETag: no GET needed."""
    etag = create(http, url)
    body = b'{"title": "b"}'
    response = http.put(url, content=body, headers={**JSON, "If-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] == ETag.from_content(body).to_header() != etag
    assert response.content == body
    assert http.get(url).content == body


def test_replace_with_stale_if_match_is_412(http: httpx.Client, url: str) -> None:
    """PUT If-Match: stale ETag: 412 with current_etag; nothing is written."""
    old = create(http, url)
    new = http.put(url, content=b'{"v": 2}', headers={**JSON, "If-Match": old}).headers["etag"]
    response = http.put(url, content=b'{"v": 3}', headers={**JSON, "If-Match": old})
    assert assert_problem(response, 412, "precondition-failed")["current_etag"] == new
    assert http.get(url).content == b'{"v": 2}'


def test_weak_if_match_never_matches(http: httpx.Client, url: str) -> None:
    """PUT If-Match: W/"current": 412 (If-Match uses the strong comparison)."""
    etag = create(http, url)
    response = http.put(url, content=b'{"v": 2}', headers={**JSON, "If-Match": "W/" + etag})
    assert_problem(response, 412, "precondition-failed")


def test_a_stale_put_is_412_even_when_its_body_is_stored(http: httpx.Client, url: str) -> None:
    """Two clients that read n=1 and both PUT n=2 made two increments: the second is a 412.

    The stored body equal to the request's proves nothing; only an
    Idempotency-Key tells a retry from a second writer.
    """
    old = create(http, url, b'{"n": 1}')
    body = b'{"n": 2}'
    first = http.put(url, content=body, headers={**JSON, "If-Match": old})
    assert first.status_code == 200
    second = http.put(url, content=body, headers={**JSON, "If-Match": old})
    assert (
        assert_problem(second, 412, "precondition-failed")["current_etag"] == first.headers["etag"]
    )
    assert len(http.get(url + "/versions").json()["items"]) == 2


def test_a_put_that_changes_nothing_is_200_without_a_version(http: httpx.Client, url: str) -> None:
    """If-Match names the current version and the body is the stored one: 200, nothing new."""
    etag = create(http, url, b'{"n": 1}')
    same = http.put(url, content=b'{"n": 1}', headers={**JSON, "If-Match": etag})
    assert (same.status_code, same.headers["etag"]) == (200, etag)
    assert len(http.get(url + "/versions").json()["items"]) == 1


def test_put_without_precondition(http: httpx.Client, url: str) -> None:
    """PUT with no precondition: 201 when absent, 428 once the document exists."""
    assert http.put(url, content=b"{}", headers=JSON).status_code == 201
    problem = assert_problem(
        http.put(url, content=b'{"a": 1}', headers=JSON), 428, "precondition-required"
    )
    assert "If-Match" in problem["detail"]
    assert "current_etag" not in problem
    assert http.get(url).content == b"{}"


def test_if_match_star(http: httpx.Client, url: str) -> None:
    """PUT If-Match: * replaces an existing document and never creates one."""
    response = http.put(url, content=b"{}", headers={**JSON, "If-Match": "*"})
    assert assert_problem(response, 412, "precondition-failed")["current_etag"] is None
    create(http, url)
    assert http.put(url, content=b'{"b": 1}', headers={**JSON, "If-Match": "*"}).status_code == 200


def test_if_unmodified_since(http: httpx.Client, url: str) -> None:
    """PUT If-Unmodified-Since: before Last-Modified, 412; the Last-Modified read writes once.

    A write in the very second of the version it read would leave two
    versions with one date, so it waits for the next second (412 until then).
    """
    create(http, url)
    last_modified = http.get(url).headers["last-modified"]
    past = "Thu, 01 Jan 2015 00:00:00 GMT"
    response = http.put(url, content=b'{"v": 2}', headers={**JSON, "If-Unmodified-Since": past})
    assert_problem(response, 412, "precondition-failed")
    _next_second(last_modified)
    response = http.put(
        url, content=b'{"v": 2}', headers={**JSON, "If-Unmodified-Since": last_modified}
    )
    assert response.status_code == 200
    # A second writer holding the same date lost: its date names the old version.
    response = http.put(
        url, content=b'{"v": 3}', headers={**JSON, "If-Unmodified-Since": last_modified}
    )
    assert_problem(response, 412, "precondition-failed")


def test_if_unmodified_since_never_wins_over_a_change_in_its_second(
    http: httpx.Client, url: str
) -> None:
    """Two versions made in one second share a date: a write guarded by that date is in doubt (412).

    RFC 9110 §8.8.2.2: a date is a strong validator only if the resource did
    not change twice in its second. If-Match still tells the versions apart.
    """
    while time.time() % 1 > 0.5:  # both writes below fall in one second
        time.sleep(0.05)
    first = create(http, url, b'{"n": 1}')
    second = http.put(url, content=b'{"n": 2}', headers={**JSON, "If-Match": first})
    date = second.headers["last-modified"]
    assert http.get(url).headers["last-modified"] == date, "the second ended between the writes"
    _next_second(date)
    for _ in range(2):  # in doubt now, and still in doubt later: the date cannot say more
        response = http.put(url, content=b'{"n": 3}', headers={**JSON, "If-Unmodified-Since": date})
        problem = assert_problem(response, 412, "precondition-failed")
        assert "If-Unmodified-Since names a second" in problem["detail"]
        assert problem["current_etag"] == second.headers["etag"]
    third = http.put(url, content=b'{"n": 3}', headers={**JSON, "If-Match": second.headers["etag"]})
    assert third.status_code == 200


def _next_second(date: str) -> None:
    """Sleep until the clock has passed the second of the HTTP-date `date`."""
    end = parse_http_date(date).timestamp() + 1
    time.sleep(max(0.0, end - time.time()) + 0.01)


def test_delete(http: httpx.Client, url: str) -> None:
    """DELETE: 428 without If-Match, 412 stale, 204 current, then 404."""
    etag = create(http, url)
    assert_problem(http.delete(url), 428, "precondition-required")
    assert_problem(http.delete(url, headers={"If-Match": '"stale"'}), 412, "precondition-failed")
    response = http.delete(url, headers={"If-Match": etag})
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(http.get(url), 404, "not-found")
    assert_problem(http.delete(url, headers={"If-Match": etag}), 404, "not-found")


def test_recreate_after_delete(http: httpx.Client, url: str) -> None:
    """A deleted document can be created again; its history shows the deletion."""
    etag = create(http, url)
    http.delete(url, headers={"If-Match": etag})
    create(http, url, b'{"again": true}')
    items = http.get(url + "/versions").json()["items"]
    assert [(i["version"], i["deleted"]) for i in items] == [(3, False), (2, True), (1, False)]
    assert items[1]["document"] is None
    assert items[1]["etag"] is None


def test_post_creates_with_location(http: httpx.Client) -> None:
    """POST /v1/{c}: 201 with Location and ETag; the Location serves the document."""
    body = b'{"item": "tea"}'
    response = http.post("/v1/orders", content=body, headers=JSON)
    assert response.status_code == 201
    location = response.headers["location"]
    assert location.startswith("/v1/orders/")
    assert response.headers["etag"] == ETag.from_content(body).to_header()
    fetched = http.get(location)
    assert fetched.content == body
    assert fetched.headers["etag"] == response.headers["etag"]


def test_list_pages(http: httpx.Client) -> None:
    """GET /v1/{c}?limit=&after= pages through documents in id order."""
    collection = f"list-{uuid.uuid4().hex[:8]}"
    ids = [f"doc-{i}" for i in range(5)]
    for i in ids:
        create(http, f"/v1/{collection}/{i}", f'{{"id": "{i}"}}'.encode())
    seen: list[str] = []
    next_url: str | None = f"/v1/{collection}?limit=2"
    pages = 0
    while next_url:
        response = http.get(next_url)
        assert response.status_code == 200
        page = response.json()
        for item in page["items"]:
            assert item["document"] == {"id": item["id"]}
            assert item["etag"].startswith('"')
            parse_http_date(item["last_modified"])
        seen += [item["id"] for item in page["items"]]
        if page["next"]:
            assert response.headers["link"] == f'<{page["next"]}>; rel="next"'
        next_url = page["next"]
        pages += 1
    assert seen == ids
    assert pages == 3
    assert http.get(f"/v1/{collection}-empty").json() == {"items": [], "next": None}


def test_versions_newest_first(http: httpx.Client, url: str) -> None:
    """GET .../versions lists the history newest first, with pages."""
    etag = create(http, url, b'{"v": 1}')
    for v in (2, 3):
        etag = http.put(
            url, content=f'{{"v": {v}}}'.encode(), headers={**JSON, "If-Match": etag}
        ).headers["etag"]
    page = http.get(url + "/versions?limit=2").json()
    assert [i["document"]["v"] for i in page["items"]] == [3, 2]
    assert page["items"][0]["etag"] == etag
    rest = http.get(page["next"]).json()
    assert [i["version"] for i in rest["items"]] == [1]
    assert rest["next"] is None
    assert_problem(http.get("/v1/notes/never-was/versions"), 404, "not-found")


def test_method_not_allowed_lists_every_method(http: httpx.Client, url: str) -> None:
    """An unsupported method answers 405 with an Allow header naming all supported ones."""
    response = http.request("OPTIONS", url)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH, PUT"


def test_unknown_path_is_404_problem(http: httpx.Client) -> None:
    """Paths outside the contract answer a 404 problem."""
    assert_problem(http.get("/nowhere"), 404, "not-found")


# What a browser sends when its address bar opens a URL or a form posts.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_problem_json_too(http: httpx.Client, url: str) -> None:
    """Every error answer of the service is problem JSON, whatever Accept prefers: the pages
    the library's key middleware makes for an app's HTML forms are not the service's."""
    browser = {"Accept": BROWSER_ACCEPT}
    assert_problem(http.get(url, headers=browser), 404, "not-found")
    stale = {**JSON, **browser, "If-Match": '"stale"'}
    assert_problem(http.put(url, content=b"{}", headers=stale), 412, "precondition-failed")
    keyed = {**JSON, **browser, "Idempotency-Key": uuid.uuid4().hex}
    assert http.post("/v1/notes", content=b'{"n": 1}', headers=keyed).status_code == 201
    reused = http.post("/v1/notes", content=b'{"n": 2}', headers=keyed)
    assert_problem(reused, 422, "idempotency-key-reused")


def test_openapi_documents_the_contract(http: httpx.Client) -> None:
    """GET /openapi.json describes every route, its conditional headers and problem answers."""
    spec = http.get("/openapi.json").json()
    paths = spec["paths"]
    doc = paths["/v1/{collection}/{doc_id}"]
    assert set(doc) == {"parameters", "get", "head", "put", "patch", "delete"}
    validate(spec)  # against the OpenAPI 3.1 schema
    patch = doc["patch"]
    assert set(patch["requestBody"]["content"]) == {
        "application/merge-patch+json",
        "application/json-patch+json",
    }
    assert {"200", "409", "412", "428"} <= set(patch["responses"])
    assert "Rebased-From" in patch["responses"]["200"]["headers"]
    assert {"200", "201", "412", "428", "413", "415", "422"} <= set(doc["put"]["responses"])
    assert "304" in doc["get"]["responses"]
    assert {p["name"] for p in doc["put"]["parameters"] if p["in"] == "header"} >= {
        "If-Match",
        "If-None-Match",
    }
    problem = doc["put"]["responses"]["412"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    assert "current_etag" in spec["components"]["schemas"]["Problem"]["properties"]
    assert {"/v1/{collection}", "/v1/{collection}/{doc_id}/versions", "/healthz"} <= set(paths)
