"""The example API (examples/README.md), checked the same way on every target.

Each test talks HTTP to a real server process: the reference service and
each example app (tests/conformance/targets.py). Nothing here knows which
framework answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from httpconflict import ETag
from tests.conformance.targets import Target
from tests.problems import assert_problem


@pytest.fixture
def http(target: Target) -> Iterator[httpx.Client]:
    with target.client() as client:
        yield client


def new_note(http: httpx.Client, **fields: Any) -> tuple[str, str]:
    """Create a note; its URL (path) and ETag."""
    body = {"title": "a note", "count": 0, "writer": "setup", **fields}
    answer = http.post("/v1/notes", json=body)
    assert answer.status_code == 201, answer.text
    location = httpx.URL(answer.headers["location"]).path
    assert location.startswith("/v1/notes/")
    return location, answer.headers["etag"]


def note(title: str = "a note", count: int = 0, writer: str = "test") -> dict[str, Any]:
    return {"title": title, "count": count, "writer": writer}


def strong(value: str) -> ETag:
    tag = ETag.parse(value)
    assert not tag.weak, f"expected a strong ETag, got {value}"
    return tag


def test_healthz(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200


# --- reading: ETag and 304 ----------------------------------------------------


def test_a_created_note_has_a_strong_etag_that_get_repeats(http: httpx.Client) -> None:
    url, etag = new_note(http, title="read me")
    strong(etag)
    first, second = http.get(url), http.get(url)
    assert first.status_code == second.status_code == 200
    assert first.json()["title"] == "read me"
    assert first.headers["etag"] == second.headers["etag"] == etag


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', "*"],
    ids=["same", "weak-form", "in-a-list", "star"],
)
def test_if_none_match_that_matches_answers_304(http: httpx.Client, if_none_match: str) -> None:
    url, etag = new_note(http)
    answer = http.get(url, headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert answer.status_code == 304
    assert answer.content == b""
    assert answer.headers["etag"] == etag


def test_if_none_match_that_does_not_match_answers_200(http: httpx.Client) -> None:
    url, _ = new_note(http)
    assert http.get(url, headers={"If-None-Match": '"nope", W/"nope2"'}).status_code == 200


def test_head_answers_like_get_without_a_body(http: httpx.Client) -> None:
    url, etag = new_note(http)
    head = http.head(url)
    assert head.status_code == 200
    assert head.headers["etag"] == etag
    assert head.content == b""
    assert http.head(url, headers={"If-None-Match": etag}).status_code == 304


def test_an_unknown_note_is_a_404_problem(http: httpx.Client) -> None:
    assert_problem(http.get(f"/v1/notes/{uuid.uuid4().int % 10**9 + 10**9}"), 404)


# --- writing: If-Match, 412, 428 --------------------------------------------------


def test_put_with_the_current_etag_replaces_and_answers_the_new_etag(http: httpx.Client) -> None:
    url, etag = new_note(http)
    answer = http.put(url, json=note("changed", 1), headers={"If-Match": etag})
    assert answer.status_code == 200, answer.text
    new_etag = strong(answer.headers["etag"])
    assert new_etag.opaque != strong(etag).opaque
    read = http.get(url)
    assert read.json()["title"] == "changed"
    assert read.headers["etag"] == answer.headers["etag"]


def test_put_with_a_stale_etag_is_412_naming_the_current_one(http: httpx.Client) -> None:
    url, stale = new_note(http)
    current = http.put(url, json=note("first", 1), headers={"If-Match": stale}).headers["etag"]
    answer = http.put(url, json=note("second", 2), headers={"If-Match": stale})
    body = assert_problem(answer, 412, "precondition-failed")
    assert body["current_etag"] == current
    assert http.get(url).json()["title"] == "first"


def test_a_retried_put_whose_answer_was_lost_is_replayed(http: httpx.Client) -> None:
    """A PUT retried with its Idempotency-Key gets its own answer again, not a 412 for itself.

    The first answer was lost; the client sends the same PUT again, with the
    ETag it had and the same key. Nothing is written again, and the answer
    names the ETag the first write made.
    """
    url, old = new_note(http)
    body = note("retried", 3)
    headers = {"If-Match": old, "Idempotency-Key": f'"{uuid.uuid4()}"'}
    first = http.put(url, json=body, headers=headers)
    retry = http.put(url, json=body, headers=headers)
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["etag"] == first.headers["etag"] == http.get(url).headers["etag"]


@pytest.mark.parametrize("keyed", [False, True])
def test_a_stale_put_of_the_stored_values_is_412(http: httpx.Client, keyed: bool) -> None:
    """Two clients that read count 3 and both PUT 4 made two increments: the second gets 412.

    The stored values equal to the request's prove nothing: only the same
    Idempotency-Key makes a request a retry.
    """
    url, old = new_note(http, count=3)
    body = note("counter", 4)
    first = http.put(url, json=body, headers={"If-Match": old})
    assert first.status_code == 200, first.text
    headers = {"If-Match": old, **({"Idempotency-Key": f'"{uuid.uuid4()}"'} if keyed else {})}
    second = http.put(url, json=body, headers=headers)
    problem = assert_problem(second, 412, "precondition-failed")
    assert problem["current_etag"] == first.headers["etag"] == http.get(url).headers["etag"]


def test_put_without_a_precondition_is_428(http: httpx.Client) -> None:
    url, _ = new_note(http, title="kept")
    assert_problem(http.put(url, json=note("blind", 9)), 428, "precondition-required")
    assert http.get(url).json()["title"] == "kept"


def test_if_none_match_naming_a_version_is_no_guard_for_a_write(http: httpx.Client) -> None:
    """A PUT or DELETE whose only precondition is If-None-Match naming a version (the ETag
    read, sent in the wrong field) is 428: it overwrote whatever was stored since, unseen."""
    url, read = new_note(http)
    moved = http.put(url, json=note("other", 1), headers={"If-Match": read})
    assert moved.status_code == 200, moved.text
    blind = http.put(url, json=note("blind", 1), headers={"If-None-Match": read})
    assert_problem(blind, 428, "precondition-required")
    deleted = http.delete(url, headers={"If-None-Match": read})
    assert_problem(deleted, 428, "precondition-required")
    for refused in (blind, deleted):  # and says why the field it sent is none
        assert "If-None-Match naming versions" in refused.json()["detail"], refused.text
    # The version it names is the one stored: refused as before.
    current = moved.headers["etag"]
    same = http.put(url, json=note("blind", 2), headers={"If-None-Match": current})
    assert_problem(same, 412, "precondition-failed")
    assert http.get(url).json() | {"id": None} == {**note("other", 1), "id": None}


def test_if_match_compares_strongly(http: httpx.Client) -> None:
    url, etag = new_note(http)
    answer = http.put(url, json=note("weak", 1), headers={"If-Match": f"W/{etag}"})
    assert_problem(answer, 412, "precondition-failed")


def test_if_match_star_writes_what_exists(http: httpx.Client) -> None:
    url, _ = new_note(http)
    assert http.put(url, json=note("star", 1), headers={"If-Match": "*"}).status_code == 200


def test_delete_needs_the_current_etag(http: httpx.Client) -> None:
    url, stale = new_note(http)
    current = http.put(url, json=note("v2", 1), headers={"If-Match": stale}).headers["etag"]
    assert_problem(http.delete(url), 428, "precondition-required")
    assert_problem(http.delete(url, headers={"If-Match": stale}), 412, "precondition-failed")
    assert http.delete(url, headers={"If-Match": current}).status_code == 204
    assert_problem(http.get(url), 404)
    # If-Match names no current representation now, so the write must not
    # happen. Where PUT creates (the service) that is 412; where it cannot
    # (the examples) the answer without the condition is 404, and RFC 9110
    # §13.2.1 has that failure take precedence over the precondition.
    again = http.put(url, json=note(), headers={"If-Match": current})
    assert again.status_code in (404, 412), again.text
    assert_problem(again, again.status_code)
    assert_problem(http.get(url), 404)


# --- bad input ---------------------------------------------------------------------


def test_bad_bodies_are_problems_and_change_nothing(http: httpx.Client) -> None:
    url, etag = new_note(http, title="intact")
    json_type = {"content-type": "application/json", "If-Match": etag}
    assert_problem(http.put(url, content=b'{"title": ', headers=json_type), 400)
    text_type = {"content-type": "text/plain", "If-Match": etag}
    assert_problem(http.put(url, content=b'{"title": "x"}', headers=text_type), 415)
    assert_problem(http.put(url, content=b"[1, 2]", headers=json_type), 422)
    assert_problem(http.post("/v1/notes", content=b"{", headers=json_type), 400)
    assert http.get(url).json()["title"] == "intact"


# --- creating what exists: unique email ----------------------------------------------


def test_a_duplicate_email_is_409_naming_the_field(http: httpx.Client) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    assert http.post("/v1/users", json={"email": email, "name": "Ann"}).status_code == 201
    answer = http.post("/v1/users", json={"email": email, "name": "Bob"})
    body = assert_problem(answer, 409, "unique-violation")
    assert body["conflicts"][0]["fields"] == ["email"]
    assert email not in answer.text
    other = f"{uuid.uuid4().hex}@example.com"
    assert http.post("/v1/users", json={"email": other, "name": "Bob"}).status_code == 201


# --- the same request twice: Idempotency-Key ---------------------------------------


def test_a_retried_post_is_replayed_not_repeated(http: httpx.Client) -> None:
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    order = {"item": "book", "qty": 1}
    first = http.post("/v1/orders", json=order, headers=key)
    assert first.status_code == 201, first.text
    again = http.post("/v1/orders", json=order, headers=key)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.content == first.content
    other = http.post("/v1/orders", json={"item": "pen", "qty": 2}, headers=key)
    assert_problem(other, 422, "idempotency-key-reused")


def test_posts_without_a_key_are_separate_and_a_malformed_key_is_400(http: httpx.Client) -> None:
    order = {"item": "cup", "qty": 1}
    first, second = http.post("/v1/orders", json=order), http.post("/v1/orders", json=order)
    assert first.status_code == second.status_code == 201
    assert first.headers["location"] != second.headers["location"]
    bad = http.post("/v1/orders", json=order, headers={"Idempotency-Key": '"unterminated'})
    assert_problem(bad, 400)


PAST_64_BITS = "9" * 20


def test_values_past_what_the_database_holds_are_4xx(http: httpx.Client) -> None:
    """An id or a count past 64-bit integers, a lone surrogate: never a 5xx; a 4xx is a problem.

    SQLite's driver refuses to bind the first two, and no UTF-8 holds the
    third: the FastAPI and Flask examples answered 500. (The service's
    documents are JSON, which holds the count.)
    """
    url, etag = new_note(http)
    where = f"/v1/notes/{PAST_64_BITS}"
    answers = [
        http.get(where),
        http.put(where, json=note(), headers={"If-Match": etag}),
        http.delete(where, headers={"If-Match": etag}),
        http.post("/v1/notes", json={**note(), "count": 10**20}),
        http.post(
            "/v1/notes",
            content=b'{"title": "\\ud800", "count": 1, "writer": "w"}',
            headers={"Content-Type": "application/json"},
        ),
    ]
    for answer in answers:
        assert answer.status_code < 500, (answer.request.method, answer.text)
        if answer.status_code >= 400:
            assert_problem(answer, answer.status_code)
    assert http.get(url).headers["etag"] == etag
