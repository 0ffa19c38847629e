"""httpconflict.fastapi on a real uvicorn process: problems, the Preconditions dependency, OpenAPI.

The app (tests/adapters/fastapi_notes.py) stores notes with a version
column through `httpconflict.sqlalchemy`, on a SQLite file.
"""

from __future__ import annotations

import contextlib
import gzip
import inspect
import json
import select
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from httpconflict._problem import MAX_DETAIL
from tests.servers import start_app

PROBLEM = "application/problem+json"
#: FastAPI 0.132 on reads a body as JSON only under a JSON Content-Type (`strict_content_type`).
STRICT_CONTENT_TYPE = (
    "strict_content_type" in inspect.signature(pytest.importorskip("fastapi").FastAPI).parameters
)
TYPES = "https://httpconflict.dev/problems/"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("fastapi")
    env = {"ADAPTERS_SQLITE": str(tmp / "notes.db")}
    with (
        start_app("tests.adapters.fastapi_notes:create_app", tmp, env=env, probe="/healthz") as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield http


@pytest.fixture
def note(client: httpx.Client, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A fresh note: its URL and ETag."""
    created = client.post("/notes", json={"title": request.node.name})
    assert created.status_code == 201
    return f"/notes/{created.json()['id']}", created.headers["etag"]


def problem(response: httpx.Response, status: int, slug: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == (TYPES + slug if slug else "about:blank")
    return body


def test_write_without_precondition_is_428(client: httpx.Client, note: tuple[str, str]) -> None:
    """PUT and DELETE of an existing note without If-Match: 428, nothing written."""
    url, etag = note
    problem(client.put(url, json={"title": "blind"}), 428, "precondition-required")
    problem(client.delete(url), 428, "precondition-required")
    assert client.get(url).headers["etag"] == etag


def test_write_to_a_missing_note_is_404(client: httpx.Client) -> None:
    """Without a row there is nothing to require a precondition of: 404, with or without one."""
    problem(client.put("/notes/999999", json={"title": "x"}), 404, "not-found")
    problem(
        client.put("/notes/999999", json={"title": "x"}, headers={"If-Match": '"1"'}),
        404,
        "not-found",
    )
    problem(client.delete("/notes/999999", headers={"If-Match": "*"}), 404, "not-found")


def test_stale_if_match_is_412_with_current_etag(
    client: httpx.Client, note: tuple[str, str]
) -> None:
    """Two writers with the same ETag: the first wins, the second gets 412 naming the new ETag."""
    url, etag = note
    first = client.put(url, json={"title": "first"}, headers={"If-Match": etag})
    assert first.status_code == 200
    assert first.headers["etag"] != etag
    second = client.put(url, json={"title": "second"}, headers={"If-Match": etag})
    assert problem(second, 412, "precondition-failed")["current_etag"] == first.headers["etag"]
    assert client.get(url).json()["title"] == "first"


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        pytest.param("{etag}", 200, id="exact"),
        pytest.param('"nope", {etag}', 200, id="list"),
        pytest.param("*", 200, id="star"),
        pytest.param("W/{etag}", 412, id="rfc9110-13.1.1-weak-never-matches-if-match"),
        pytest.param('"abc"', 412, id="not-a-version"),
    ],
)
def test_if_match_forms(
    client: httpx.Client, note: tuple[str, str], if_match: str, status: int
) -> None:
    """If-Match uses the strong comparison, over a list, or "*"."""
    url, etag = note
    response = client.put(
        url, json={"title": f"t{url}"}, headers={"If-Match": if_match.format(etag=etag)}
    )
    assert response.status_code == status


def test_delete_with_if_match(client: httpx.Client, note: tuple[str, str]) -> None:
    """DELETE: 412 when stale, 204 when current, then 404."""
    url, etag = note
    problem(client.delete(url, headers={"If-Match": '"999"'}), 412, "precondition-failed")
    assert client.delete(url, headers={"If-Match": etag}).status_code == 204
    problem(client.get(url), 404, "not-found")


def test_get_304_and_412_from_the_dependency(client: httpx.Client, note: tuple[str, str]) -> None:
    """conditions.check answers 304 (weak comparison) and 412 before the body is built."""
    url, etag = note
    cached = client.get(url, headers={"If-None-Match": f'"x", W/{etag}'})
    assert (cached.status_code, cached.content, cached.headers["etag"]) == (304, b"", etag)
    assert client.get(url, headers={"If-None-Match": '"x"'}).status_code == 200
    failed = client.get(url, headers={"If-Match": '"x"'})
    assert problem(failed, 412, "precondition-failed")["current_etag"] == etag


def test_malformed_precondition_is_400(client: httpx.Client, note: tuple[str, str]) -> None:
    """An unquoted entity-tag is a 400 naming the header, not an ignored condition."""
    url, etag = note
    body = problem(
        client.put(url, json={"title": "x"}, headers={"If-Match": etag.strip('"')}),
        400,
        "malformed-header",
    )
    assert body["header"] == "If-Match"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "slug"),
    [
        pytest.param(b'{"title": ', "application/json", 400, "malformed-json", id="bad-json"),
        pytest.param(
            b"title=x",
            "application/x-www-form-urlencoded",
            415,
            "unsupported-media-type",
            id="form",
        ),
        pytest.param(
            b'{"title": "x"}',
            None,
            415,
            "unsupported-media-type",
            id="no-content-type",
            marks=pytest.mark.skipif(
                not STRICT_CONTENT_TYPE,
                reason="FastAPI before 0.132 reads a body without Content-Type as JSON",
            ),
        ),
        pytest.param(b'{"title": "x"}', "text/plain", 415, "unsupported-media-type", id="text"),
        pytest.param(b"[1, 2]", "application/json", 422, "invalid-document", id="not-an-object"),
        pytest.param(b'{"title": 5}', "application/json", 422, "invalid-document", id="wrong-type"),
        pytest.param(b"{}", "application/json", 422, "invalid-document", id="missing-field"),
        pytest.param(b"", "application/json", 422, "invalid-document", id="no-body"),
    ],
)
def test_bad_bodies(
    client: httpx.Client, content: bytes, content_type: str | None, status: int, slug: str
) -> None:
    """A bad body is a problem: 400 malformed JSON, 415 not JSON, 422 not acceptable."""
    headers = {"Content-Type": content_type} if content_type else {}
    body = problem(client.post("/notes", content=content, headers=headers), status, slug)
    if status == 422:
        assert body["errors"][0]["location"][0] == "body"


def test_invalid_parameters(client: httpx.Client) -> None:
    """A path that names no note is a 404; an invalid query parameter a 400 naming it."""
    problem(client.get("/notes/abc"), 404, "not-found")
    assert (
        problem(client.get("/search?limit=many"), 400, "invalid-parameter")["parameter"] == "limit"
    )


def test_http_exceptions_become_problems(client: httpx.Client) -> None:
    """HTTPException keeps its status, detail and headers; routing's 404/405 are typed."""
    teapot = problem(client.get("/teapot"), 418, None)
    assert (teapot["title"], teapot["detail"]) == ("I'm a Teapot", "short and stout")
    assert client.get("/teapot").headers["x-pot"] == "1"
    assert problem(client.get("/detail-object"), 409, None)["data"] == {"reason": "custom"}
    problem(client.get("/nowhere"), 404, "not-found")
    not_allowed = client.patch("/notes/1")
    problem(not_allowed, 405, "method-not-allowed")
    assert "PUT" in not_allowed.headers["allow"]


def test_retry_after(client: httpx.Client) -> None:
    """An error with retry_after answers with a Retry-After header."""
    response = client.get("/busy")
    assert problem(response, 503, "unavailable")["retry_after"] == 7
    assert response.headers["retry-after"] == "7"


def test_unique_violation_is_409(client: httpx.Client, note: tuple[str, str]) -> None:
    """The integrity handler is installed: a duplicate title is a 409 naming the field."""
    url, _ = note
    title = client.get(url).json()["title"]
    duplicate = problem(client.post("/notes", json={"title": title}), 409, "unique-violation")
    assert duplicate["conflicts"][0]["fields"] == ["title"]


def test_unexpected_error_is_a_500_problem(client: httpx.Client) -> None:
    """Anything else is a 500 problem that does not leak the error."""
    # uvicorn closes the connection of a request whose app raised: a client of its own.
    body = problem(httpx.get(client.base_url.join("/boom"), timeout=10), 500, "internal-error")
    assert "integrity" not in body["detail"]


def test_openapi_documents_the_answers(client: httpx.Client) -> None:
    """Routes with Preconditions document their headers, 304/409/412/428, all as problems."""
    spec = client.get("/openapi.json").json()
    validate(spec)
    note_path = spec["paths"]["/notes/{note_id}"]
    put, get = note_path["put"], note_path["get"]
    headers = {p["name"] for p in put["parameters"] if p["in"] == "header"}
    assert {"If-Match", "If-None-Match"} <= headers
    assert {"400", "404", "409", "412", "415", "422", "428"} <= set(put["responses"])
    assert "304" not in put["responses"]
    assert {"304", "412"} <= set(get["responses"])
    assert "428" not in get["responses"]
    assert {"412", "428"} <= set(note_path["delete"]["responses"])
    ref = {"$ref": "#/components/schemas/ProblemDetails"}
    for operation in (put, get, note_path["delete"]):
        for status, answer in operation["responses"].items():
            if status.startswith("4"):
                assert answer["content"] == {PROBLEM: {"schema": ref}}, status
    # Routes without the dependency get no precondition answers, but their 422 is a problem.
    create = spec["paths"]["/notes"]["post"]
    assert "412" not in create["responses"]
    assert create["responses"]["422"]["content"] == {PROBLEM: {"schema": ref}}
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ProblemDetails"]["required"] == ["type", "title", "status"]


# -- PATCH through PatchBody and versioned_patch, rebased on Prefer: rebase ---------------------

MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def draft(client: httpx.Client) -> tuple[str, str]:
    created = client.post("/drafts")
    assert created.status_code == 201, created.text
    return f"/drafts/{created.json()['id']}", created.headers["etag"]


def test_a_patch_of_the_current_version_is_applied(client: httpx.Client) -> None:
    """A merge patch with the current ETag: 200, the patched document, the next version."""
    url, etag = draft(client)
    answer = client.patch(url, json={"title": "t"}, headers={**MERGE, "If-Match": etag})
    assert (answer.status_code, answer.json(), answer.headers["etag"]) == (
        200,
        {"title": "t", "body": ""},
        '"2"',
    )
    assert "rebased-from" not in answer.headers


def test_a_stale_patch_is_rebased_only_when_asked(client: httpx.Client) -> None:
    """Stale: 412; with Prefer: rebase another field merges (Rebased-From, Preference-Applied),
    and the same field is a 409 naming it."""
    url, old = draft(client)
    assert client.patch(url, json={"title": "a"}, headers={**MERGE, "If-Match": old}).is_success
    stale = client.patch(url, json={"body": "b"}, headers={**MERGE, "If-Match": old})
    assert problem(stale, 412, "precondition-failed")["current_etag"] == '"2"'
    asked = {**MERGE, "If-Match": old, "Prefer": "rebase"}
    merged = client.patch(url, json={"body": "b"}, headers=asked)
    assert merged.status_code == 200, merged.text
    assert merged.json() == {"title": "a", "body": "b"}
    assert (merged.headers["rebased-from"], merged.headers["preference-applied"]) == (
        '"1"',
        "rebase",
    )
    clash = problem(client.patch(url, json={"title": "a"}, headers=asked), 409, "merge-conflict")
    assert clash["conflicts"] == [
        {"pointer": "/title", "base": "", "current": "a", "requested": "a"}
    ]


def test_a_patch_that_is_not_a_patch_is_415(client: httpx.Client) -> None:
    """PatchBody takes a merge patch or a JSON Patch: 415 for plain JSON, 400 for bad JSON."""
    url, etag = draft(client)
    plain = client.patch(url, json={"title": "x"}, headers={"If-Match": etag})
    problem(plain, 415, "unsupported-media-type")
    bad = client.patch(url, content=b"{", headers={**MERGE, "If-Match": etag})
    problem(bad, 400, "malformed-json")


def test_a_patch_that_builds_past_a_mebibyte_is_413(client: httpx.Client) -> None:
    """PatchBody holds what a patch builds to 1 MiB: 20 self-copies (31 MB) are a 413."""
    url, etag = draft(client)
    copies = [{"op": "copy", "from": "", "path": f"/k{i}"} for i in range(20)]
    answer = client.patch(url, json=copies, headers={**JSON_PATCH, "If-Match": etag})
    assert problem(answer, 413, "content-too-large")["max_bytes"] == 1 << 20
    # Nothing was written: the ETag still names the current version.
    same = client.patch(url, json={"title": "t"}, headers={**MERGE, "If-Match": etag})
    assert same.status_code == 200, same.text


NOT_A_DRAFT = [
    pytest.param(JSON_PATCH, [{"op": "add", "path": "/nope", "value": 1}], id="add-member"),
    pytest.param(JSON_PATCH, [{"op": "add", "path": "/-", "value": 1}], id="add-dash"),
    pytest.param(JSON_PATCH, [{"op": "remove", "path": "/title"}], id="remove-member"),
    pytest.param(JSON_PATCH, [{"op": "replace", "path": "", "value": [1]}], id="an-array"),
    pytest.param(MERGE, [1, 2], id="merge-array"),
    pytest.param(MERGE, {"zzz": 1}, id="merge-new-member"),
    pytest.param(MERGE, {"title": None}, id="merge-null"),
    pytest.param(MERGE, {"title": {"a": 1}}, id="text-set-to-an-object"),
    pytest.param(
        JSON_PATCH, [{"op": "add", "path": "/body", "value": [1]}], id="text-set-to-an-array"
    ),
]


@pytest.mark.parametrize(("headers", "body"), NOT_A_DRAFT)
def test_a_patch_that_makes_no_row_is_422(
    client: httpx.Client, headers: dict[str, str], body: Any
) -> None:
    """versioned_patch: a member added or removed, or a document that is no object: 422."""
    url, etag = draft(client)
    answer = client.patch(url, json=body, headers={**headers, "If-Match": etag})
    problem(answer, 422, "invalid-document")
    same = client.patch(url, json={"title": "t"}, headers={**MERGE, "If-Match": etag})
    assert same.status_code == 200, same.text


def test_a_patch_body_past_a_mebibyte_is_413(client: httpx.Client) -> None:
    """PatchBody reads at most 1 MiB of body: 413 naming the limit, the draft unchanged."""
    url, etag = draft(client)
    # 2.5 MB of `test` operations: what the patch builds stays small.
    body = json.dumps([{"op": "test", "path": "/title", "value": ""}] * 60_000).encode()
    answer = client.patch(url, content=body, headers={**JSON_PATCH, "If-Match": etag})
    assert problem(answer, 413, "content-too-large")["max_bytes"] == 1 << 20
    same = client.patch(url, json={"title": "t"}, headers={**MERGE, "If-Match": etag})
    assert same.status_code == 200, same.text


#: What a problem answer may hold beside the request's own pointer: its other members and a
#: detail of at most MAX_DETAIL characters.
ANSWER_OVER_POINTER = MAX_DETAIL + 1000
LONG = 500_000
LONG_POINTERS = [
    pytest.param([{"op": "replace", "path": "/" + "q" * LONG, "value": 1}], id="missing-member"),
    pytest.param([{"op": "copy", "from": "/" + "m" * LONG, "path": "/title"}], id="missing-from"),
    pytest.param([{"op": "replace", "path": "t" * LONG, "value": 1}], id="not-a-pointer"),
]


@pytest.mark.parametrize("patch", LONG_POINTERS)
def test_a_problem_quotes_a_long_pointer_once(client: httpx.Client, patch: Any) -> None:
    """A 500 KB pointer the patch cannot use: the answer holds it once, its detail at most
    MAX_DETAIL characters (it quoted it four times: a 2 MB answer to a 500 KB request)."""
    url, etag = draft(client)
    answer = client.patch(url, json=patch, headers={**JSON_PATCH, "If-Match": etag})
    assert answer.status_code in (400, 409), answer.text[:200]
    assert len(answer.json()["detail"]) <= MAX_DETAIL + 40
    assert len(answer.content) <= LONG + ANSWER_OVER_POINTER


# -- request bodies the app cannot read: coded (415), too large (413) ---------------------------

CODED = [
    pytest.param("gzip", gzip.compress(b'{"title": "coded"}'), id="gzip"),
    pytest.param("deflate", zlib.compress(b'{"title": "coded"}'), id="deflate"),
    # Plain JSON said to be br: still not taken as the document it looks like.
    pytest.param("br", b'{"title": "coded"}', id="br-mislabelled"),
    pytest.param("identity, gzip", gzip.compress(b'{"title": "coded"}'), id="listed"),
]


@pytest.mark.parametrize(("coding", "content"), CODED)
def test_a_coded_model_body_is_415_naming_identity(
    client: httpx.Client, coding: str, content: bytes
) -> None:
    """RFC 9110 §12.5.3: a body in a coding not taken is a 415 with Accept-Encoding, not a 400."""
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    answer = client.post("/notes", content=content, headers=headers)
    body = problem(answer, 415, "unsupported-media-type")
    assert answer.headers["accept-encoding"] == "identity"
    assert body["accept_encoding"] == ["identity"]


@pytest.mark.parametrize(("coding", "content"), CODED)
def test_a_coded_patch_body_is_415_naming_identity(
    client: httpx.Client, coding: str, content: bytes
) -> None:
    """PatchBody refuses a coded body the same way, and nothing is written."""
    url, etag = draft(client)
    headers = {**MERGE, "Content-Encoding": coding, "If-Match": etag}
    answer = client.patch(url, content=content, headers=headers)
    problem(answer, 415, "unsupported-media-type")
    assert answer.headers["accept-encoding"] == "identity"
    plain = client.patch(url, json={"title": "t"}, headers={**MERGE, "If-Match": etag})
    assert plain.status_code == 200, plain.text


def test_identity_and_an_empty_coded_request_pass(client: httpx.Client) -> None:
    """Content-Encoding: identity is the body as it is; a GET carrying the field has no body."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "identity"}
    made = client.post("/notes", content=b'{"title": "identity-coded"}', headers=headers)
    assert made.status_code == 201, made.text
    url = f"/notes/{made.json()['id']}"
    assert client.get(url, headers={"Content-Encoding": "gzip"}).status_code == 200


def test_a_declared_model_body_past_a_mebibyte_is_413_unread(client: httpx.Client) -> None:
    """A Content-Length past 1 MiB on a pydantic body: 413 naming the limit."""
    body = b'{"title": "' + b"x" * (2 << 20) + b'"}'
    answer = client.post("/notes", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413, answer.text[:300]
    assert problem(answer, 413, "content-too-large")["max_bytes"] == 1 << 20


def send_chunked(url: str, path: str, total: int) -> tuple[bytes, int]:
    """POST `total` bytes of a JSON string, chunked, and stop sending once an answer comes.

    Returns the answer's bytes and how many bytes of body were sent.
    """
    address = httpx.URL(url)
    piece = 1 << 16
    chunk = b"%x\r\n" % piece + b"x" * piece + b"\r\n"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {address.host}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    opening = b'{"title": "'
    sent = 0
    with socket.create_connection((address.host, address.port), timeout=60) as sock:
        sock.sendall(head + b"%x\r\n" % len(opening) + opening + b"\r\n")
        pending = b""
        while sent < total:
            readable, _, _ = select.select([sock], [sock], [], 60)
            if readable:
                break
            if not pending:
                pending = chunk
                sent += piece
            try:
                pending = pending[sock.send(pending) :]
            except OSError:
                break
        else:
            sock.sendall(pending + b'4\r\n"}  \r\n0\r\n\r\n')
        answer = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                got = sock.recv(65536)
                if not got:
                    break
                answer += got
    return answer, sent


def test_a_chunked_fifty_megabytes_to_a_model_is_413_before_it_is_read(
    tmp_path: Path,
) -> None:
    """50 MB chunked to a pydantic endpoint: 413 long before the end, the worker not grown by it."""
    env = {"ADAPTERS_SQLITE": str(tmp_path / "notes.db")}
    total = 50 << 20
    with start_app(
        "tests.adapters.fastapi_notes:create_app", tmp_path, env=env, probe="/healthz"
    ) as url:
        before = httpx.get(f"{url}/peak-memory").json()["kib"]
        answer, sent = send_chunked(url, "/notes", total)
        after = httpx.get(f"{url}/peak-memory").json()["kib"]
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert json.loads(content)["max_bytes"] == 1 << 20
    assert sent < total // 2, f"the whole body was taken ({sent} bytes) before the answer"
    grown = (after - before) << 10
    assert grown < total // 4, f"the worker grew by {grown} bytes"


def test_the_body_limit_is_for_bodies_read_whole_not_for_uploads(client: httpx.Client) -> None:
    """JSON past 1 MiB: 413; a multipart upload of the same size reaches its handler."""
    big = b"x" * (2 << 20)
    as_json = client.post(
        "/upload", content=b'"' + big + b'"', headers={"Content-Type": "application/json"}
    )
    problem(as_json, 413, "content-too-large")
    uploaded = client.post("/upload", files={"file": ("big.bin", big)})
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["size"] > len(big)
