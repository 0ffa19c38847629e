"""versioned_update and versioned_delete behind plain Django views, and ProblemMiddleware.

The views are those of the test project (django_notes.py), which
docs/django.md shows; each test talks HTTP to it as a server process.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.adapters.django_servers import DATABASES, NOTE, create_note, notes_database, notes_server
from tests.problems import assert_problem


@pytest.fixture(scope="module", params=DATABASES)
def http(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """The project on each database: the written row comes back by RETURNING or read-back."""
    log_dir = tmp_path_factory.mktemp(f"django-versioned-{request.param}")
    with (
        notes_server(notes_database(request, request.param, log_dir), log_dir) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


def note(**fields: Any) -> dict[str, Any]:
    return {**NOTE, **fields}


# --- writes: If-Match checked in the UPDATE ----------------------------------------


def test_a_put_with_the_current_etag_writes_and_answers_the_next(http: httpx.Client) -> None:
    """The version is the ETag: "1" becomes "2", and the answer says so."""
    url, etag = create_note(http)
    assert etag == '"1"'
    answer = http.put(url, json=note(title="changed"), headers={"If-Match": etag})
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"2"'
    assert answer.json()["title"] == "changed"
    again = http.get(url)
    assert again.headers["etag"] == '"2"'
    # The row answered is the row stored, converted as a read converts it
    # (auto_now's datetime included), whether RETURNING or a read gave it.
    assert answer.json() == again.json()


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        pytest.param('"1"', 200, id="current"),
        pytest.param('"7", "1"', 200, id="in-a-list"),
        pytest.param("*", 200, id="star"),
        pytest.param('"2"', 412, id="another-version"),
        pytest.param('W/"1"', 412, id="rfc9110-13.1.1-weak-never-matches-if-match"),
        pytest.param('"01"', 412, id="rfc9110-8.8.3.2-compared-character-by-character"),
        pytest.param('"one"', 412, id="not-a-version"),
        # Past what the version column holds (32 bits on PostgreSQL, 64 elsewhere) or past
        # 64 bits: no version, never a refusal of the body (it was a 422).
        pytest.param('"9223372036854775808"', 412, id="past-64-bits"),
        pytest.param('"1", "9223372036854775808"', 200, id="past-64-bits-beside-the-version"),
        pytest.param('"1", "2147483648"', 200, id="past-32-bits-beside-the-version"),
    ],
)
def test_if_match(http: httpx.Client, if_match: str, status: int) -> None:
    """If-Match holds exactly when it strongly matches the current version."""
    url, _ = create_note(http)
    answer = http.put(url, json=note(count=5), headers={"If-Match": if_match})
    if status == 412:
        assert assert_problem(answer, 412, "precondition-failed")["current_etag"] == '"1"'
        assert http.get(url).json()["count"] == 0
    else:
        assert answer.status_code == 200, answer.text
        assert http.get(url).json()["count"] == 5


def test_a_write_without_if_match_is_428_and_changes_nothing(http: httpx.Client) -> None:
    """RFC 6585 §3: a write to an existing note must say which version it is based on."""
    url, _ = create_note(http, title="kept")
    assert_problem(http.put(url, json=note(title="blind")), 428, "precondition-required")
    assert_problem(http.delete(url), 428, "precondition-required")
    assert http.get(url).json()["title"] == "kept"


def test_an_unquoted_if_match_is_a_400_not_a_blind_write(http: httpx.Client) -> None:
    """Django's parse_etags drops `If-Match: 1` and writes unguarded; this refuses it."""
    url, _ = create_note(http, title="kept")
    answer = http.put(url, json=note(title="blind"), headers={"If-Match": "1"})
    assert assert_problem(answer, 400, "malformed-header")["header"] == "If-Match"
    assert http.get(url).json()["title"] == "kept"


def test_if_none_match_star_refuses_an_existing_note(http: httpx.Client) -> None:
    """If-None-Match: * means "only if it does not exist": a 412 here."""
    url, _ = create_note(http)
    answer = http.put(url, json=note(), headers={"If-None-Match": "*"})
    assert_problem(answer, 412, "precondition-failed")


def test_a_stale_write_is_412_even_when_its_values_are_stored(http: httpx.Client) -> None:
    """A stale version is 412 although the row holds the values asked for (two writers)."""
    url, etag = create_note(http)
    body = note(title="once", count=1)
    assert http.put(url, json=body, headers={"If-Match": etag}).headers["etag"] == '"2"'
    again = http.put(url, json=body, headers={"If-Match": etag})
    assert assert_problem(again, 412, "precondition-failed")["current_etag"] == '"2"'
    assert http.get(url).headers["etag"] == '"2"'


def test_auto_now_fields_are_set_by_the_update(http: httpx.Client) -> None:
    """QuerySet.update() skips save(); versioned_update sets auto_now fields itself."""
    url, etag = create_note(http)
    before = http.get(url).json()["updated"]
    time.sleep(0.01)  # the JSON shows milliseconds
    after = http.put(url, json=note(count=1), headers={"If-Match": etag}).json()["updated"]
    assert after > before


def test_delete(http: httpx.Client) -> None:
    """DELETE: 428 without If-Match, 412 when stale, 204, then 404 for everything."""
    url, stale = create_note(http)
    current = http.put(url, json=note(count=1), headers={"If-Match": stale}).headers["etag"]
    assert_problem(http.delete(url, headers={"If-Match": stale}), 412, "precondition-failed")
    assert http.delete(url, headers={"If-Match": current}).status_code == 204
    assert_problem(http.get(url), 404, "not-found")
    assert_problem(http.delete(url, headers={"If-Match": current}), 404, "not-found")
    assert_problem(http.put(url, json=note(), headers={"If-Match": current}), 404, "not-found")


# --- request bodies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "status", "slug"),
    [
        pytest.param(b'{"a": ', "application/json", 400, "malformed-json", id="not-json"),
        pytest.param(b'{"a": NaN}', "application/json", 400, "malformed-json", id="nan"),
        pytest.param(b"[1]", "application/json", 422, "invalid-document", id="not-an-object"),
        pytest.param(
            b'{"a": 1, "a": 2}', "application/json", 422, "invalid-document", id="repeated-member"
        ),
        pytest.param(b'{"a": 1}', "text/plain", 415, "unsupported-media-type", id="text"),
        pytest.param(
            b'{"a": 1}',
            "application/json; charset=latin-1",
            415,
            "unsupported-media-type",
            id="rfc8259-8.1-utf-8-only",
        ),
    ],
)
def test_json_body_refuses_what_it_cannot_read(
    http: httpx.Client, content: bytes, content_type: str, status: int, slug: str
) -> None:
    """json_body answers 400, 415 and 422 problems instead of guessing."""
    answer = http.post("/echo", content=content, headers={"Content-Type": content_type})
    assert_problem(answer, status, slug)


# --- ProblemMiddleware --------------------------------------------------------------


def test_a_problem_error_is_its_answer_with_retry_after(http: httpx.Client) -> None:
    """A ProblemError raised by a view answers its problem, and its delay as Retry-After."""
    answer = http.get("/unavailable")
    assert assert_problem(answer, 503, "unavailable")["retry_after"] == 7
    assert answer.headers["retry-after"] == "7"


def test_a_duplicate_unique_value_is_a_409_naming_the_field(http: httpx.Client) -> None:
    """The unique index decides; its IntegrityError is a 409 with the field, not the value."""
    assert http.post("/users", json={"email": "dup@example.com"}).status_code == 201
    answer = http.post("/users", json={"email": "dup@example.com"})
    assert assert_problem(answer, 409, "unique-violation")["conflicts"][0]["fields"] == ["email"]
    assert "dup@example.com" not in answer.text


@pytest.mark.parametrize(
    ("method", "path", "status", "slug"),
    [
        pytest.param("GET", "/no/such/url", 404, "not-found", id="no-route"),
        pytest.param("GET", "/notes/999999", 404, "not-found", id="http404"),
        pytest.param("POST", "/notes/1", 405, "method-not-allowed", id="require-http-methods"),
        pytest.param("GET", "/forbidden", 403, None, id="permission-denied"),
        pytest.param("GET", "/boom", 500, "internal-error", id="unhandled"),
    ],
)
def test_djangos_own_error_pages_become_problems(
    http: httpx.Client, method: str, path: str, status: int, slug: str | None
) -> None:
    """Django's HTML 403/404/405/500 pages are replaced by problems for their status."""
    answer = http.request(method, path)
    body = assert_problem(answer, status, slug)
    if slug is None:
        assert body == {"type": "about:blank", "title": "Forbidden", "status": 403}
    if status == 405:
        assert answer.headers["allow"] == "GET, HEAD, PUT, PATCH, DELETE"


def test_a_disallowed_host_is_a_400_problem(http: httpx.Client) -> None:
    """Django's SuspiciousOperation page (here DisallowedHost) becomes a 400 problem."""
    answer = http.get("/host", headers={"Host": "evil.example"})
    assert assert_problem(answer, 400)["type"] == "about:blank"


def test_a_body_over_the_limit_is_413(http: httpx.Client) -> None:
    """RequestDataTooBig is a 413 naming the limit (Django itself answers 400)."""
    big = b'{"a": "' + b"x" * 2000 + b'"}'
    answer = http.post("/echo", content=big, headers={"Content-Type": "application/json"})
    assert assert_problem(answer, 413, "content-too-large")["max_bytes"] == 1000


def test_an_error_answer_the_view_chose_is_left_alone(http: httpx.Client) -> None:
    """Only Django's HTML pages are replaced: a view's own JSON error goes through."""
    answer = http.get("/chosen-error")
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": "the view's own"}


# --- PATCH: versioned_patch, rebased on Prefer: rebase ----------------------------------

MERGE = {"Content-Type": "application/merge-patch+json"}


def test_a_patch_of_the_current_version_is_applied(http: httpx.Client) -> None:
    """A merge patch with the current ETag: 200, the next version, auto_now set."""
    url, etag = create_note(http)
    before = http.get(url).json()["updated"]
    answer = http.patch(url, json={"count": 5}, headers={**MERGE, "If-Match": etag})
    assert answer.status_code == 200, answer.text
    assert (answer.headers["etag"], answer.json()["count"]) == ('"2"', 5)
    assert answer.json()["updated"] > before
    assert "rebased-from" not in answer.headers


NOT_A_NOTE = [
    pytest.param("json-patch", [{"op": "add", "path": "/nope", "value": 1}], id="add-member"),
    pytest.param("json-patch", [{"op": "remove", "path": "/writer"}], id="remove-member"),
    pytest.param("json-patch", [{"op": "replace", "path": "", "value": 1}], id="a-number"),
    pytest.param("merge-patch", [1, 2], id="merge-array"),
    pytest.param("merge-patch", {"count": None}, id="merge-null"),
    pytest.param("merge-patch", {"title": {"a": 1}}, id="text-set-to-an-object"),
    pytest.param(
        "json-patch", [{"op": "add", "path": "/title", "value": [1]}], id="text-set-to-an-array"
    ),
    pytest.param("merge-patch", {"count": {"n": 1}}, id="integer-set-to-an-object"),
    pytest.param("merge-patch", {"title": 5}, id="text-set-to-a-number"),
    pytest.param("merge-patch", {"writer": False}, id="text-set-to-a-boolean"),
    pytest.param("merge-patch", {"count": "five"}, id="integer-set-to-a-word"),
    pytest.param("merge-patch", {"count": "1.5"}, id="integer-set-to-a-fraction-string"),
    pytest.param("merge-patch", {"count": 1.5}, id="integer-set-to-a-fraction"),
    pytest.param("merge-patch", {"count": 2**70}, id="integer-past-64-bits"),
]


@pytest.mark.parametrize(("kind", "body"), NOT_A_NOTE)
def test_a_patch_that_makes_no_row_is_422(http: httpx.Client, kind: str, body: Any) -> None:
    """A member added or removed, or a document that is no object: 422, the note as it was."""
    url, etag = create_note(http)
    headers = {"Content-Type": f"application/{kind}+json", "If-Match": etag}
    assert_problem(http.patch(url, json=body, headers=headers), 422, "invalid-document")
    after = http.get(url)
    assert (after.headers["etag"], after.json()["count"]) == (etag, 0)


def test_a_stale_patch_is_rebased_only_when_asked(http: httpx.Client) -> None:
    """Stale: 412; Prefer: rebase merges another field, and clashes on the same one (409)."""
    url, old = create_note(http)
    assert http.patch(url, json={"count": 1}, headers={**MERGE, "If-Match": old}).is_success
    stale = http.patch(url, json={"title": "mine"}, headers={**MERGE, "If-Match": old})
    assert assert_problem(stale, 412, "precondition-failed")["current_etag"] == '"2"'
    asked = {**MERGE, "If-Match": old, "Prefer": "rebase"}
    merged = http.patch(url, json={"title": "mine"}, headers=asked)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["title"], merged.json()["count"]) == ("mine", 1)
    assert merged.headers["rebased-from"] == old
    assert merged.headers["preference-applied"] == "rebase"
    clash = assert_problem(http.patch(url, json={"count": 1}, headers=asked), 409, "merge-conflict")
    assert clash["conflicts"] == [{"pointer": "/count", "base": 0, "current": 1, "requested": 1}]
    assert http.get(url).headers["etag"] == '"3"'


CODED = [
    pytest.param("gzip", gzip.compress, id="gzip"),
    pytest.param("deflate", zlib.compress, id="deflate"),
    # Plain JSON said to be br: still not taken as the document it looks like.
    pytest.param("br", bytes, id="br-mislabelled"),
]


@pytest.mark.parametrize(("coding", "code"), CODED)
def test_a_coded_body_is_415_naming_identity(
    http: httpx.Client, coding: str, code: Callable[[bytes], bytes]
) -> None:
    """RFC 9110 §12.5.3: json_body and request_patch refuse a coded body with 415 and
    Accept-Encoding, not a 400 "not UTF-8"; nothing is written."""
    url, etag = create_note(http)
    put = {"Content-Type": "application/json", "Content-Encoding": coding, "If-Match": etag}
    patch = {**MERGE, "Content-Encoding": coding, "If-Match": etag}
    for answer in (
        http.post("/echo", content=code(b'{"a": 1}'), headers=put),
        http.put(url, content=code(json.dumps(note(count=7)).encode()), headers=put),
        http.patch(url, content=code(b'{"count": 7}'), headers=patch),
    ):
        assert assert_problem(answer, 415, "unsupported-media-type")["accept_encoding"] == [
            "identity"
        ]
        assert answer.headers["accept-encoding"] == "identity"
    after = http.get(url)
    assert (after.headers["etag"], after.json()["count"]) == (etag, 0)
