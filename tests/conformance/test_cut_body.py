"""A write whose body ends early is never applied, on every target.

The client sends 40 of the body's 100 bytes (tests/cut.py), and those 40
are a valid request by themselves; then it closes or half-closes the
connection. Whatever framework reads the body, nothing may change, and the
client's real retry, whole, is the first request: a keyed order is created
(201, not a replay and not a 422), a note is replaced (200). A half-closed
client gets no answer (ASGI servers) or 400 ``incomplete-body`` (WSGI).
The targets' logs are checked for 5xx and tracebacks when they stop.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conformance.targets import Target
from tests.cut import BODY, CUTS, PART, Cut, send_cut, status_of

#: A whole note in the first 40 bytes, then spaces: a valid PUT if cut there.
NOTE = b'{"title":"cut","count":7,"writer":"wxx"}'.ljust(len(BODY))


@pytest.fixture
def http(target: Target) -> Iterator[httpx.Client]:
    with target.client() as client:
        yield client


def check_answer(answer: bytes) -> None:
    """Nothing, or a 400 incomplete-body problem (a WSGI server has to answer something)."""
    if status_of(answer) is not None:
        assert status_of(answer) == 400, answer
        assert b"/problems/incomplete-body" in answer, answer


def retried(http: httpx.Client, method: str, path: str, body: bytes, **headers: str) -> Any:
    """The whole request again: a 2xx, not a replay."""
    answer = http.request(method, path, content=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    assert "idempotent-replayed" not in answer.headers
    return answer.json()


@pytest.mark.parametrize("cut", CUTS, ids=str)
def test_a_cut_keyed_order_is_not_created_and_its_retry_is(
    target: Target, http: httpx.Client, cut: Cut
) -> None:
    """POST /v1/orders cut short records nothing under its key: the whole retry is a new 201."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": f'"{uuid.uuid4()}"'}
    check_answer(send_cut(target.url, "POST", "/v1/orders", headers, cut))
    order = retried(http, "POST", "/v1/orders", BODY, **headers)
    assert (order["item"], order["qty"]) == ("tea", 1)


@pytest.mark.parametrize("cut", CUTS, ids=str)
def test_a_cut_put_changes_nothing(target: Target, http: httpx.Client, cut: Cut) -> None:
    """PUT /v1/notes/{id} with If-Match cut short leaves the note as it was; the retry applies."""
    created = http.post("/v1/notes", json={"title": "before", "count": 0, "writer": "w"})
    assert created.status_code == 201
    url, etag = httpx.URL(created.headers["location"]).path, created.headers["etag"]
    headers = {"Content-Type": "application/json", "If-Match": etag}
    check_answer(send_cut(target.url, "PUT", url, headers, cut, body=NOTE))
    current = http.get(url)
    assert current.headers["etag"] == etag
    assert current.json()["title"] == "before"
    note = retried(http, "PUT", url, NOTE, **headers)
    assert note["title"] == json.loads(NOTE[:PART])["title"]
