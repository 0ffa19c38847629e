"""The DRF mixin and exception handler, on the test project's viewsets (a server process).

`ConditionalModelMixin` on ``/api/notes`` and ``/api/users``; the
exception handler and the strict JSONParser are set in REST_FRAMEWORK.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.adapters.django_servers import NOTE, create_note, notes_server
from tests.problems import assert_problem


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log_dir = tmp_path_factory.mktemp("django-drf")
    with (
        notes_server(str(log_dir / "notes.db"), log_dir) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


def note(**fields: Any) -> dict[str, Any]:
    return {**NOTE, **fields}


def test_create_answers_the_etag_and_location(http: httpx.Client) -> None:
    """A 201 names the new note (a path to its detail route) and its version."""
    answer = http.post("/api/notes", json=note(title="new"))
    assert answer.status_code == 201
    assert answer.headers["etag"] == '"1"'
    location = answer.headers["location"]
    assert location == f"/api/notes/{answer.json()['id']}"
    assert http.get(location).json()["title"] == "new"


def test_update_with_the_current_etag(http: httpx.Client) -> None:
    """PUT and PATCH with the current ETag write once each, each answering the next ETag."""
    url, etag = create_note(http, "/api")
    put = http.put(url, json=note(title="put"), headers={"If-Match": etag})
    assert (put.status_code, put.headers["etag"], put.json()["title"]) == (200, '"2"', "put")
    patch = http.patch(url, json={"count": 3}, headers={"If-Match": '"2"'})
    assert (patch.status_code, patch.headers["etag"]) == (200, '"3"')
    assert patch.json() == {**put.json(), "count": 3}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_write_without_if_match_is_428(http: httpx.Client, method: str) -> None:
    """Every write to an existing note must name its version."""
    url, _ = create_note(http, "/api", title="kept")
    body = None if method == "DELETE" else note(title="blind")
    assert_problem(http.request(method, url, json=body), 428, "precondition-required")
    assert http.get(url).json()["title"] == "kept"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_stale_write_is_412_naming_the_current_etag(http: httpx.Client, method: str) -> None:
    """A write based on a version that is gone is refused with the one now stored."""
    url, stale = create_note(http, "/api")
    http.patch(url, json={"title": "moved on"}, headers={"If-Match": stale})
    body = None if method == "DELETE" else note(title="late")
    answer = http.request(method, url, json=body, headers={"If-Match": stale})
    assert assert_problem(answer, 412, "precondition-failed")["current_etag"] == '"2"'
    assert http.get(url).json()["title"] == "moved on"


def test_preconditions_come_before_the_body(http: httpx.Client) -> None:
    """RFC 9110 §13.2.1: 428 and 412 answer a write whatever its body, valid or not."""
    url, stale = create_note(http, "/api")
    http.patch(url, json={"count": 1}, headers={"If-Match": stale})
    invalid = {"title": "x", "count": "many"}
    assert_problem(http.put(url, json=invalid), 428)
    assert_problem(http.put(url, json=invalid, headers={"If-Match": stale}), 412)
    answer = http.put(url, json=invalid, headers={"If-Match": '"2"'})
    assert "count" in assert_problem(answer, 422, "invalid-document")["errors"]


def test_a_stale_write_is_412_even_when_its_values_are_stored(http: httpx.Client) -> None:
    """Two clients that read version 1 and PUT the same body made two changes: the second is 412."""
    url, etag = create_note(http, "/api")
    body = note(title="once", count=1)
    assert http.put(url, json=body, headers={"If-Match": etag}).status_code == 200
    again = http.put(url, json=body, headers={"If-Match": etag})
    assert assert_problem(again, 412, "precondition-failed")["current_etag"] == '"2"'
    assert http.get(url).headers["etag"] == '"2"'  # nothing written twice


def test_delete(http: httpx.Client) -> None:
    """DELETE with the current ETag is a 204; then the note is a 404."""
    url, etag = create_note(http, "/api")
    assert http.delete(url, headers={"If-Match": etag}).status_code == 204
    assert_problem(http.get(url), 404, "not-found")
    assert_problem(http.delete(url, headers={"If-Match": etag}), 404, "not-found")


# --- REST framework's own errors as problems ---------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "status", "slug"),
    [
        pytest.param(b'{"title": ', "application/json", 400, "malformed-json", id="not-json"),
        pytest.param(b"[1, 2]", "application/json", 422, "invalid-document", id="not-an-object"),
        pytest.param(
            b'{"title": "a", "title": "b"}',
            "application/json",
            422,
            "invalid-document",
            id="repeated-member",
        ),
        pytest.param(b'{"title": "a"}', "text/plain", 415, "unsupported-media-type", id="text"),
        pytest.param(
            b'{"title": "a"}',
            "application/json; charset=latin-1",
            415,
            "unsupported-media-type",
            id="rfc8259-8.1-utf-8-only",
        ),
        pytest.param(
            b'{"title": "a", "count": "x"}',
            "application/json",
            422,
            "invalid-document",
            id="invalid",
        ),
    ],
)
def test_bad_bodies(
    http: httpx.Client, content: bytes, content_type: str, status: int, slug: str
) -> None:
    """Parse, media type and validation errors are problems; validation is a 422."""
    answer = http.post("/api/notes", content=content, headers={"Content-Type": content_type})
    body = assert_problem(answer, status, slug)
    if status == 415:
        assert body["accept"] == ["application/json"]


def test_a_body_past_data_upload_max_memory_size_is_413(http: httpx.Client) -> None:
    """The JSON parser reads at most DATA_UPLOAD_MAX_MEMORY_SIZE (1000 here), as request.body."""
    body = b'{"title": "' + b"x" * 2000 + b'", "count": 0, "writer": "w"}'
    answer = http.post("/api/notes", content=body, headers={"Content-Type": "application/json"})
    assert assert_problem(answer, 413, "content-too-large")["max_bytes"] == 1000


def test_validation_errors_are_listed_per_field(http: httpx.Client) -> None:
    """The 422 carries REST framework's messages under `errors`."""
    answer = http.post("/api/notes", json={"count": "many"})
    errors = assert_problem(answer, 422, "invalid-document")["errors"]
    assert set(errors) == {"title", "count"}
    assert all(isinstance(message, str) for messages in errors.values() for message in messages)


def test_method_not_allowed_and_not_found(http: httpx.Client) -> None:
    """405 keeps Allow; a missing note is a 404 problem."""
    answer = http.delete("/api/notes")
    assert_problem(answer, 405, "method-not-allowed")
    assert answer.headers["allow"] == "GET, POST, HEAD, OPTIONS"
    assert_problem(http.get("/api/notes/999999"), 404, "not-found")


def test_a_duplicate_email_is_409_whichever_check_refuses_it(http: httpx.Client) -> None:
    """8 concurrent creates of one email: one 201, seven 409 naming "email" and not its value.

    The serializer's UniqueValidator refuses most; a create that passed it
    while another was inserting is refused by the unique index instead. The
    answer is the same.
    """
    email = "race@example.com"
    barrier = threading.Barrier(8)
    answers: list[httpx.Response] = []

    def create() -> None:
        with httpx.Client(base_url=http.base_url, timeout=10) as client:
            barrier.wait()
            answers.append(client.post("/api/users", json={"email": email}))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 7, [a.text for a in answers]
    for answer in answers[1:]:
        if answer.status_code == 409:
            body = assert_problem(answer, 409, "unique-violation")
            assert body["conflicts"][0]["fields"] == ["email"]
            assert email not in answer.text


def test_an_update_to_a_taken_email_is_409(http: httpx.Client) -> None:
    """A versioned update that breaks the unique index is a 409 too, and writes nothing."""
    assert http.post("/api/users", json={"email": "first@example.com"}).status_code == 201
    second = http.post("/api/users", json={"email": "second@example.com"})
    url = second.headers["location"]
    answer = http.put(url, json={"email": "first@example.com"}, headers={"If-Match": '"1"'})
    assert_problem(answer, 409, "unique-violation")
    assert http.get(url).json()["email"] == "second@example.com"


@pytest.mark.parametrize(
    ("coding", "content"),
    [
        pytest.param("gzip", gzip.compress(json.dumps(NOTE).encode()), id="gzip"),
        pytest.param("deflate", zlib.compress(json.dumps(NOTE).encode()), id="deflate"),
        # Plain JSON said to be br: still not taken as the document it looks like.
        pytest.param("br", json.dumps(NOTE).encode(), id="br-mislabelled"),
    ],
)
def test_a_coded_body_is_415_naming_identity(
    http: httpx.Client, coding: str, content: bytes
) -> None:
    """RFC 9110 §12.5.3: the JSON parser refuses a coded body with 415 and Accept-Encoding."""
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    answer = http.post("/api/notes", content=content, headers=headers)
    assert assert_problem(answer, 415, "unsupported-media-type")["accept_encoding"] == ["identity"]
    assert answer.headers["accept-encoding"] == "identity"


def test_a_many_to_many_field_is_written_under_the_version(http: httpx.Client) -> None:
    """PUT back what was read, of a row with a many-to-many field: 200, the labels set, the
    version bumped once (it was a 500: the UPDATE cannot set a many-to-many field)."""
    labels = [_label(http, name) for name in ("a", "b")]
    made = http.post("/api/books", json={"title": "t", "labels": labels[:1]})
    assert made.status_code == 201, made.text
    url, etag = made.headers["location"], made.headers["etag"]
    read = http.get(url)
    put = http.put(url, json={**read.json(), "labels": labels}, headers={"If-Match": etag})
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == '"2"'
    assert sorted(put.json()["labels"]) == sorted(labels)
    patched = http.patch(url, json={"labels": []}, headers={"If-Match": '"2"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["labels"] == []
    assert patched.headers["etag"] == '"3"'
    stale = http.put(url, json={"title": "t", "labels": labels}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert http.get(url).json()["labels"] == []  # the stale write set nothing


def _label(http: httpx.Client, name: str) -> int:
    answer = http.post("/labels", json={"name": name})
    assert answer.status_code == 201, answer.text
    label: int = answer.json()["id"]
    return label


def test_the_mixin_adds_no_action_the_viewset_lacks(http: httpx.Client) -> None:
    """A viewset without create and retrieve: no POST, no detail GET (the mixin added both,
    and its POST was a 500); its update and delete are conditional."""
    label = _label(http, "c")
    assert http.post("/api/labels", json={"name": "x"}).status_code == 405
    assert http.get(f"/api/labels/{label}").status_code == 405
    assert http.put(f"/api/labels/{label}", json={"name": "d"}).status_code == 428
    put = http.put(f"/api/labels/{label}", json={"name": "d"}, headers={"If-Match": '"1"'})
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == '"2"'
    assert "POST" not in http.options("/api/labels").headers.get("allow", "")
