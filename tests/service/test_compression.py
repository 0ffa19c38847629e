"""Large answers are gzip-coded, with ETags that stay right (RFC 9110 §8.8.3.3), over real HTTP.

A coded answer carries its own strong tag ("x-gzip"); a client that read
it writes with If-Match "x-gzip" and revalidates with If-None-Match
"x-gzip" as one that read the plain form does with "x". Every answer
says Vary: Accept-Encoding, 304s included.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from httpconflict import ETag
from httpconflict.httpx import ConflictClient
from tests.servers import ServiceProcess, start_service

LARGE = {"text": "conflict-free " * 200, "n": 0}  # about 2.8 KB of JSON
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    db = str(tmp_path_factory.mktemp("db") / "service.db")
    with start_service(db, tmp_path_factory.mktemp("log")) as running:
        yield running


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


def create(http: httpx.Client, name: str, document: dict[str, Any]) -> str:
    url = f"/v1/coded/{name}"
    assert http.put(url, json=document, headers={"If-None-Match": "*"}).status_code == 201
    return url


@dataclass
class Raw:
    """An answer's header fields and its body as it came (httpx would decode gzip)."""

    headers: httpx.Headers
    body: bytes


def raw_get(service: ServiceProcess, url: str, headers: dict[str, str]) -> Raw:
    with httpx.Client(base_url=service.url) as http, http.stream("GET", url, headers=headers) as r:
        return Raw(r.headers, b"".join(r.iter_raw()))


def test_a_large_document_is_sent_gzip_coded_under_its_own_tag(
    service: ServiceProcess, http: httpx.Client
) -> None:
    """gzip when asked, with "tag-gzip"; as is otherwise, with the plain tag; Vary on both."""
    url = create(http, "large", LARGE)
    plain = raw_get(service, url, PLAIN)
    coded = raw_get(service, url, GZIP)
    tag = ETag.from_content(plain.body).to_header()
    assert "content-encoding" not in plain.headers
    assert plain.headers["etag"] == tag
    assert coded.headers["content-encoding"] == "gzip"
    assert coded.headers["etag"] == tag[:-1] + '-gzip"'
    assert gzip.decompress(coded.body) == plain.body
    assert plain.headers["vary"] == coded.headers["vary"] == "Accept-Encoding"


def test_a_request_naming_no_coding_gets_the_plain_form(service: ServiceProcess) -> None:
    """No Accept-Encoding at all (wrk, curl): a large document as is, plain tag, Vary still."""
    with service.client() as http:
        url = create(http, "no-coding", LARGE)
    with httpx.Client(base_url=service.url) as bare:
        bare.headers.pop("Accept-Encoding")
        with bare.stream("GET", url) as answer:
            body = b"".join(answer.iter_raw())
    assert "accept-encoding" not in answer.request.headers
    assert "content-encoding" not in answer.headers
    assert answer.headers["etag"] == ETag.from_content(body).to_header()
    assert answer.headers["vary"] == "Accept-Encoding"
    assert raw_get(service, url, GZIP).headers["content-encoding"] == "gzip"


def test_a_small_document_is_sent_as_is(http: httpx.Client) -> None:
    """Under 1 KiB: no coding, the plain tag, and still Vary: Accept-Encoding."""
    url = create(http, "small", {"n": 1})
    answer = http.get(url, headers=GZIP)
    assert "content-encoding" not in answer.headers
    assert answer.headers["etag"] == ETag.from_content(answer.content).to_header()
    assert answer.headers["vary"] == "Accept-Encoding"


def test_if_match_with_the_coded_tag_writes_and_a_stale_one_is_refused(
    http: httpx.Client,
) -> None:
    """The coded tag of the current version satisfies If-Match; of an older one, 412."""
    url = create(http, "written", LARGE)
    read = http.get(url, headers=GZIP).headers["etag"]
    assert read.endswith('-gzip"')
    first = http.put(url, json={**LARGE, "n": 1}, headers={"If-Match": read, **GZIP})
    assert first.status_code == 200
    assert first.headers["etag"].endswith('-gzip"')
    stale = http.put(url, json={**LARGE, "n": 2}, headers={"If-Match": read, **GZIP})
    assert stale.status_code == 412
    assert http.get(url).json()["n"] == 1


def test_a_304_repeats_the_tag_and_vary_the_client_holds(http: httpx.Client) -> None:
    """If-None-Match "x-gzip" is a 304 with "x-gzip"; "x" is a 304 with "x"; both Vary."""
    url = create(http, "revalidated", LARGE)
    coded = http.get(url, headers=GZIP).headers["etag"]
    plain = http.get(url, headers=PLAIN).headers["etag"]
    for held, headers in ((coded, GZIP), (plain, PLAIN)):
        answer = http.get(url, headers={"If-None-Match": held, **headers})
        assert answer.status_code == 304
        assert answer.headers["etag"] == held
        assert answer.headers["vary"] == "Accept-Encoding"


def test_a_large_page_is_coded_under_the_same_weak_tag(
    service: ServiceProcess, http: httpx.Client
) -> None:
    """A page's tag is weak: the coded and plain forms share it, and it revalidates both."""
    for n in range(3):
        create(http, f"page-{n}", LARGE)
    plain = raw_get(service, "/v1/coded", PLAIN)
    coded = raw_get(service, "/v1/coded", GZIP)
    assert coded.headers["content-encoding"] == "gzip"
    assert coded.headers["etag"] == plain.headers["etag"]
    assert coded.headers["etag"].startswith('W/"')
    assert gzip.decompress(coded.body) == plain.body
    again = http.get("/v1/coded", headers={"If-None-Match": coded.headers["etag"], **GZIP})
    assert again.status_code == 304


def test_the_client_updates_a_large_document(service: ServiceProcess, http: httpx.Client) -> None:
    """ConflictClient reads a large document (for its ETag, in the identity coding) and writes."""
    url = create(http, "counted", LARGE)
    with service.client() as inner:
        client = ConflictClient(inner)
        for _ in range(3):
            stored = client.update(url, lambda doc: {**doc, "n": doc["n"] + 1})
    assert stored.attempts == 1
    assert http.get(url).json()["n"] == 3


@pytest.mark.parametrize(
    ("accept_encoding", "coded"),
    [
        pytest.param("gzip;q=0", False, id="gzip-refused-by-q0"),
        pytest.param("gzip; q=0.000", False, id="gzip-refused-by-q0.000"),
        pytest.param("gzip;q=0, identity", False, id="gzip-refused-identity-asked"),
        pytest.param("*, gzip;q=0", False, id="wildcard-but-gzip-refused"),
        pytest.param("br, gzip;Q=0", False, id="gzip-refused-upper-q"),
        pytest.param("GZIP", True, id="gzip-in-capitals"),
        pytest.param("x-gzip", True, id="x-gzip-is-gzip"),
        pytest.param("identity;q=0.5, gzip;q=0.1", True, id="gzip-any-positive-q"),
        pytest.param("br, *", True, id="wildcard"),
        pytest.param("*;q=0", False, id="wildcard-refused"),
        pytest.param("gzipped, xgzip", False, id="words-holding-gzip"),
    ],
)
def test_accept_encoding_weights_decide_the_coding(
    service: ServiceProcess, http: httpx.Client, accept_encoding: str, coded: bool
) -> None:
    """gzip only where Accept-Encoding gives it a weight above 0 (RFC 9110 §12.5.3), any case.

    "q=0" means "not acceptable": the word gzip anywhere in the field got a
    gzip body (and a "-gzip" tag) that such a client cannot read.
    """
    url = create(http, f"weights-{uuid.uuid4().hex}", LARGE)
    answer = raw_get(service, url, {"Accept-Encoding": accept_encoding})
    assert answer.headers.get("content-encoding") == ("gzip" if coded else None), answer.headers
    assert answer.headers["etag"].endswith('-gzip"') is coded
    assert answer.headers["vary"] == "Accept-Encoding"
