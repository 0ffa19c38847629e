"""Bad input gets a clear 4xx problem and changes nothing, against a real server."""

from __future__ import annotations

import gzip
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import ServiceProcess, start_service

JSON = {"content-type": "application/json"}
ORIGINAL = b'{"keep": "me"}'


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


@pytest.fixture
def doc(http: httpx.Client) -> tuple[str, str]:
    """An existing document: (url, etag)."""
    url = f"/v1/notes/{uuid.uuid4().hex}"
    response = http.put(url, content=ORIGINAL, headers={**JSON, "If-None-Match": "*"})
    assert response.status_code == 201
    return url, response.headers["etag"]


def assert_unchanged(http: httpx.Client, url: str, etag: str) -> None:
    response = http.get(url)
    assert response.content == ORIGINAL
    assert response.headers["etag"] == etag
    assert len(http.get(url + "/versions").json()["items"]) == 1


MALFORMED_HEADERS = [
    pytest.param("If-Match", "abc", id="if-match-unquoted"),
    pytest.param("If-Match", 'w/"abc"', id="if-match-lowercase-weak"),
    pytest.param("If-Match", '"a" "b"', id="if-match-no-comma"),
    pytest.param("If-Match", '*, "a"', id="if-match-star-in-list"),
    pytest.param("If-Match", "", id="if-match-empty"),
    pytest.param("If-None-Match", "abc", id="if-none-match-unquoted"),
    pytest.param("If-Unmodified-Since", "yesterday", id="if-unmodified-since-not-a-date"),
    pytest.param("If-Unmodified-Since", "2026-01-01T00:00:00Z", id="if-unmodified-since-iso"),
    pytest.param("If-Modified-Since", "Sun, 06 Nov 1994", id="if-modified-since-truncated"),
]


@pytest.mark.parametrize(("header", "value"), MALFORMED_HEADERS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_malformed_precondition_headers(
    http: httpx.Client, doc: tuple[str, str], method: str, header: str, value: str
) -> None:
    """A malformed conditional header is a 400 naming the header; nothing is written."""
    url, etag = doc
    response = http.request(
        method, url, content=b'{"changed": 1}', headers={**JSON, "If-Match": etag, header: value}
    )
    problem = assert_problem(response, 400, "malformed-header")
    assert problem["header"] == header
    assert header in problem["detail"]
    assert_unchanged(http, url, etag)


BAD_BODIES = [
    pytest.param(b"{", 400, "malformed-json", id="truncated-json"),
    pytest.param(b"{'a': 1}", 400, "malformed-json", id="single-quotes"),
    pytest.param(b"", 400, "malformed-json", id="empty-body"),
    pytest.param(b'{"a": NaN}', 400, "malformed-json", id="nan"),
    pytest.param(b"\xff\xfe{}", 400, "malformed-json", id="not-utf8"),
    pytest.param(b"[1, 2, 3]", 422, "invalid-document", id="json-array"),
    pytest.param(b'"text"', 422, "invalid-document", id="json-string"),
    pytest.param(b"null", 422, "invalid-document", id="json-null"),
    pytest.param(b'{"a": 1, "a": 2}', 422, "invalid-document", id="duplicate-member"),
]


@pytest.mark.parametrize(("body", "status", "slug"), BAD_BODIES)
def test_bad_bodies_on_put(
    http: httpx.Client, doc: tuple[str, str], body: bytes, status: int, slug: str
) -> None:
    """Invalid JSON is 400, JSON that is not one object is 422; nothing is written."""
    url, etag = doc
    response = http.put(url, content=body, headers={**JSON, "If-Match": etag})
    assert_problem(response, status, slug)
    assert_unchanged(http, url, etag)


@pytest.mark.parametrize(("body", "status", "slug"), BAD_BODIES)
def test_bad_bodies_on_post(http: httpx.Client, body: bytes, status: int, slug: str) -> None:
    """POST refuses the same bodies and creates nothing."""
    collection = f"post-{uuid.uuid4().hex[:8]}"
    assert_problem(http.post(f"/v1/{collection}", content=body, headers=JSON), status, slug)
    assert http.get(f"/v1/{collection}").json()["items"] == []


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json"],
)
def test_wrong_content_type_is_415(
    http: httpx.Client, doc: tuple[str, str], content_type: str | None
) -> None:
    """A missing or wrong Content-Type is 415 listing what is accepted."""
    url, etag = doc
    headers = {"If-Match": etag}
    if content_type:
        headers["Content-Type"] = content_type
    response = http.put(url, content=b'{"a": 1}', headers=headers)
    assert assert_problem(response, 415, "unsupported-media-type")["accept"] == ["application/json"]
    assert_unchanged(http, url, etag)


@pytest.mark.parametrize(
    ("method", "types"),
    [
        pytest.param("PUT", ["application/json", "text/plain"], id="put-json-first"),
        pytest.param("PUT", ["text/plain", "application/json"], id="put-json-last"),
        pytest.param("PUT", ["application/json, text/plain"], id="put-a-list"),
        pytest.param(
            "PATCH",
            ["application/merge-patch+json", "application/json-patch+json"],
            id="patch-two-patch-types",
        ),
    ],
)
def test_content_type_sent_twice_is_400(
    http: httpx.Client, doc: tuple[str, str], method: str, types: list[str]
) -> None:
    """Content-Type is one media type: sent twice, or as a list, it is a 400 naming the field
    whichever comes first (a proxy reading the last would see another body); nothing is
    written. (The first one counted before: 200, a version written, for json then text.)"""
    url, etag = doc
    headers = [("If-Match", etag), *(("Content-Type", value) for value in types)]
    response = http.request(method, url, content=b'{"a": 1}', headers=headers)
    assert assert_problem(response, 400, "malformed-header")["header"] == "Content-Type"
    assert_unchanged(http, url, etag)


def test_oversized_body_is_413(http: httpx.Client, doc: tuple[str, str]) -> None:
    """A body over the default 1 MiB limit is 413 with the limit; nothing is written."""
    url, etag = doc
    body = b'{"a": "' + b"x" * (1024 * 1024) + b'"}'
    response = http.put(url, content=body, headers={**JSON, "If-Match": etag})
    assert assert_problem(response, 413, "content-too-large")["max_bytes"] == 1024 * 1024
    assert_unchanged(http, url, etag)


def test_oversized_chunked_body_is_413(http: httpx.Client) -> None:
    """Without Content-Length the limit is enforced while reading."""

    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    response = http.post("/v1/chunked", content=chunks(), headers=JSON)
    assert_problem(response, 413, "content-too-large")


@pytest.fixture(scope="module")
def small_limit_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    db = tmp_path_factory.mktemp("small") / "small.db"
    with start_service(str(db), tmp_path_factory.mktemp("log"), extra=("--max-body", "100")) as s:
        yield s


def test_body_limit_is_configurable(small_limit_service: ServiceProcess) -> None:
    """--max-body sets the limit: 100 bytes pass, 101 do not."""
    with small_limit_service.client() as http:
        ok = b'{"a": "' + b"x" * 91 + b'"}'
        assert len(ok) == 100
        assert http.post("/v1/c", content=ok, headers=JSON).status_code == 201
        too_big = b'{"a": "' + b"x" * 92 + b'"}'
        problem = assert_problem(http.post("/v1/c", content=too_big, headers=JSON), 413)
        assert problem["max_bytes"] == 100


@pytest.fixture(scope="module")
def large_limit_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    db = tmp_path_factory.mktemp("large") / "large.db"
    limit = ("--max-body", str(3 << 20))
    with start_service(str(db), tmp_path_factory.mktemp("log"), extra=limit) as s:
        yield s


def test_a_body_limit_above_a_mebibyte_is_the_services_own(
    large_limit_service: ServiceProcess,
) -> None:
    """--max-body 3 MiB: a 2 MiB document is taken, declared or chunked.

    (The library's own 1 MiB default for bodies is not in the service's way.)
    """
    big = b'{"a": "' + b"x" * (2 << 20) + b'"}'
    with large_limit_service.client() as http:
        assert http.post("/v1/c", content=big, headers=JSON).status_code == 201
        chunked = http.post("/v1/c", content=iter([big[:1000], big[1000:]]), headers=JSON)
        assert chunked.status_code == 201, chunked.text


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "POST", "PROPFIND", "PURGE"])
def test_unsupported_methods_are_405(http: httpx.Client, doc: tuple[str, str], method: str) -> None:
    """Methods the document resource does not support: 405 problem with Allow."""
    url, etag = doc
    response = http.request(method, url, content=b"{}", headers=JSON)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH, PUT"
    assert_unchanged(http, url, etag)


def test_unknown_method_is_a_400_problem(service: ServiceProcess) -> None:
    """A method the HTTP parser does not know still gets a problem+json answer."""
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"FOO /v1/notes/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/problem+json" in head.lower()
    assert httpx.Response(400, content=body).json()["status"] == 400


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        pytest.param("/v1/_reserved/x", "collection", id="reserved-collection"),
        pytest.param("/v1/notes/_reserved", "document", id="reserved-document"),
        # The document routes come first and take neither `/v1/_collections/{c}` nor
        # `/v1/{c}/_changes`: every other reserved name still reaches them.
        pytest.param("/v1/_changes/x", "collection", id="changes-as-collection"),
        pytest.param("/v1/_collectionsx/x", "collection", id="collections-prefix"),
        pytest.param("/v1/notes/_changesx", "document", id="changes-prefix"),
        pytest.param("/v1/notes/_collections", "document", id="collections-as-document"),
        pytest.param("/v1/notes/" + "x" * 256, "document", id="document-name-too-long"),
        pytest.param("/v1/no%20tes/x", "collection", id="space-in-collection"),
        pytest.param("/v1/notes/a%00b", "document", id="nul-in-document"),
        # Decoded before routing, an encoded '/' would be a separator: another resource.
        pytest.param("/v1/notes/a%2Fb", "path", id="slash-in-document"),
        pytest.param("/v1/notes/x%2fversions", "path", id="slash-before-versions"),
        pytest.param("/v1/notes%2Fx", "path", id="slash-in-collection"),
    ],
)
def test_invalid_names_are_400(http: httpx.Client, path: str, parameter: str) -> None:
    """Invalid or reserved names are 400 naming the parameter, for every method."""
    for method in ("GET", "PUT", "DELETE"):
        response = http.request(method, path, content=b"{}", headers=JSON)
        assert assert_problem(response, 400, "invalid-parameter")["parameter"] == parameter


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "limit=", "limit=1.5"])
def test_invalid_list_parameters_are_400(http: httpx.Client, query: str) -> None:
    """Out-of-range or malformed query parameters are 400 naming the parameter."""
    problem = assert_problem(http.get(f"/v1/notes?{query}"), 400, "invalid-parameter")
    assert problem["parameter"] == "limit"


@pytest.mark.parametrize(
    ("method", "path", "parameter"),
    [
        ("GET", "?limit=1&limit=2", "limit"),
        ("GET", "?after=a&after=b", "after"),
        ("GET", "/{id}/versions?before=1&before=2", "before"),
        ("DELETE", "/{id}?purge=false&purge=true", "purge"),
    ],
)
def test_a_parameter_given_twice_is_400(
    http: httpx.Client, doc: tuple[str, str], method: str, path: str, parameter: str
) -> None:
    """One of two values would be a guess: 400 naming the parameter, and nothing is done."""
    url, etag = doc
    target = "/v1/notes" + path.replace("/{id}", url.removeprefix("/v1/notes"))
    answer = http.request(method, target, headers={"If-Match": etag})
    assert assert_problem(answer, 400, "invalid-parameter")["parameter"] == parameter
    assert http.get(url).status_code == 200


@pytest.mark.parametrize("after", ["%00", "a%00b", "doc%00"])
def test_an_after_holding_nul_is_400(http: httpx.Client, doc: tuple[str, str], after: str) -> None:
    """No id holds U+0000: a page after one is a 400 naming `after`, on either database.

    PostgreSQL cannot compare a text holding it: the list answered 422
    invalid-document, its detail telling to replace a stored document and
    declare a unique key again; SQLite answered a page.
    """
    answer = http.get(f"/v1/notes?after={after}")
    assert assert_problem(answer, 400, "invalid-parameter")["parameter"] == "after"
    assert http.get("/v1/notes?after=a").status_code == 200


def test_invalid_versions_parameters_are_400(http: httpx.Client, doc: tuple[str, str]) -> None:
    """before= must be a positive integer."""
    url, _ = doc
    for query in ("before=0", "before=-3", "before=x"):
        problem = assert_problem(http.get(f"{url}/versions?{query}"), 400, "invalid-parameter")
        assert problem["parameter"] == "before"


def test_every_error_in_this_module_was_a_problem(service: ServiceProcess) -> None:
    """The access log of the server records a problem type for every 4xx it sent."""
    untyped = [r for r in service.access_log() if r["status"] >= 400 and not r["problem"]]
    assert untyped == []


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        pytest.param("gzip", gzip.compress(b'{"n": 2}'), id="gzip"),
        pytest.param("br", b'{"n": 2}', id="br-on-plain-bytes"),
        pytest.param("identity, gzip", gzip.compress(b'{"n": 2}'), id="gzip-after-identity"),
    ],
)
@pytest.mark.parametrize(
    ("method", "content_type"),
    [
        ("PUT", "application/json"),
        ("PATCH", "application/merge-patch+json"),
        ("POST", "application/json"),
    ],
)
def test_a_content_coded_body_is_415(
    http: httpx.Client,
    doc: tuple[str, str],
    coding: str,
    body: bytes,
    method: str,
    content_type: str,
) -> None:
    """A body sent with a Content-Encoding is 415 saying so, with Accept-Encoding: identity.

    RFC 9110 §12.5.3: a server refusing a request's content coding answers
    415 and lists the codings it takes. The field was ignored: a gzip body
    was a 400 "not UTF-8", and bytes labelled br were stored as if plain.
    """
    url, etag = doc
    target = url.rsplit("/", 1)[0] if method == "POST" else url
    response = http.request(
        method,
        target,
        content=body,
        headers={"content-type": content_type, "content-encoding": coding, "If-Match": etag},
    )
    problem = assert_problem(response, 415)
    assert "Content-Encoding" in problem["detail"], problem
    assert response.headers["accept-encoding"] == "identity"
    assert_unchanged(http, url, etag)


def test_an_identity_content_encoding_is_no_coding(
    http: httpx.Client, doc: tuple[str, str]
) -> None:
    """Content-Encoding: identity (any case) names no coding: the body is taken as it is."""
    url, etag = doc
    response = http.put(
        url,
        content=b'{"n": 3}',
        headers={**JSON, "content-encoding": "Identity", "If-Match": etag},
    )
    assert response.status_code == 200, response.text
