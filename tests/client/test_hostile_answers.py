"""`update` and `create` against servers written by hand whose answers cannot be read.

A server (tests/hostile_http.py) that labels a JSON answer
``Content-Encoding: gzip`` makes its body undecodable (``DecodingError``,
which once went past the client's flow, raw, after the server had applied
the write). The body of a 2xx answer to a write is not needed to know
what happened: the status says the write was applied, and the result is
the document sent (tests/client/test_lost_answers.py: an answer that
never came is resent with its Idempotency-Key).
Bodies nested past the JSON domain's depth (a document, a problem) are
unusable answers, not a RecursionError.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    RequestRefused,
    RetryPolicy,
    StoredDocument,
    UnusableAnswer,
    VirtualClock,
)
from tests.hostile_http import KeyedCounter, RawServer, Request, answer, hostile_server

POLICY = RetryPolicy(attempts=6)


def increment(doc: dict[str, Any]) -> None:
    doc["n"] += 1


def sync_update(url: str) -> StoredDocument:
    with httpx.Client(timeout=10) as http:
        return ConflictClient(http, policy=POLICY, clock=VirtualClock()).update(url, increment)


def async_update(url: str) -> StoredDocument:
    async def main() -> StoredDocument:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(http, policy=POLICY, clock=VirtualClock())
            return await client.update(url, increment)

    return asyncio.run(main())


def sync_create(url: str) -> StoredDocument:
    with httpx.Client(timeout=10) as http:
        return ConflictClient(http, policy=POLICY, clock=VirtualClock()).create(url, {"n": 0})


def async_create(url: str) -> StoredDocument:
    async def main() -> StoredDocument:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(http, policy=POLICY, clock=VirtualClock())
            return await client.create(url, {"n": 0})

    return asyncio.run(main())


UPDATES = [pytest.param(sync_update, id="sync"), pytest.param(async_update, id="async")]
CREATES = [pytest.param(sync_create, id="sync"), pytest.param(async_create, id="async")]


@pytest.fixture
def counter() -> Iterator[KeyedCounter]:
    with hostile_server(KeyedCounter(garbled=1)) as running:
        yield running


@pytest.mark.parametrize("update", UPDATES)
def test_an_undecodable_2xx_to_a_write_says_it_was_applied(
    counter: KeyedCounter, update: Callable[[str], StoredDocument]
) -> None:
    """The PATCH's 200 says gzip over plain JSON: its status says the write was applied, so the
    result is the document sent, with the answer's ETag; not resent, applied once."""
    counter.garbled = 1_000
    stored = update(counter.url + "/v1/counters/c")
    assert (stored.document, stored.etag) == ({"n": 1}, '"v1"')
    assert (counter.n, counter.applied) == (1, 1)
    assert counter.methods == ["GET", "PATCH"]


@pytest.mark.parametrize("create", CREATES)
def test_an_undecodable_2xx_to_a_create_says_it_was_made(
    counter: KeyedCounter, create: Callable[[str], StoredDocument]
) -> None:
    """The POST's 201 garbled: made once, at its Location, the document as sent."""
    stored = create(counter.url + "/v1/counters")
    assert (stored.url, stored.document, stored.replayed) == (
        counter.url + "/v1/counters/c1",
        {"n": 0},
        False,
    )
    assert (counter.created, counter.methods) == (1, ["POST"])


class Deep(RawServer):
    """A document nested 100,000 deep, or, with `problem`, a 409 whose problem is."""

    def __init__(self, *, problem: bool) -> None:
        super().__init__()
        self.problem = problem

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        deep = b"[" * 100_000 + b"]" * 100_000
        if request.method == "GET" and self.problem:
            fields = {"content-type": "application/json", "etag": '"v0"'}
            writer.write(answer(200, fields, json.dumps({"n": 0}).encode()))
        elif request.method == "GET":
            writer.write(answer(200, {"content-type": "application/json", "etag": '"v0"'}, deep))
        else:
            body = b'{"type": "about:blank", "detail": ' + deep + b"}"
            writer.write(answer(409, {"content-type": "application/problem+json"}, body))
        await writer.drain()
        return True


@pytest.mark.parametrize("update", UPDATES)
def test_a_document_nested_past_the_domain_is_an_unusable_answer(
    update: Callable[[str], StoredDocument],
) -> None:
    """A GET answered with 100,000 nested arrays: `UnusableAnswer` saying how deep, not
    RecursionError."""
    with hostile_server(Deep(problem=False)) as deep, pytest.raises(UnusableAnswer) as unusable:
        update(deep.url + "/v1/counters/c")
    assert "nested more than 128" in str(unusable.value)


@pytest.mark.parametrize("update", UPDATES)
def test_a_problem_nested_past_the_domain_is_a_refusal_by_its_status(
    update: Callable[[str], StoredDocument],
) -> None:
    """A 409 whose problem nests 100,000 arrays: `RequestRefused` with the status, no problem."""
    with hostile_server(Deep(problem=True)) as deep, pytest.raises(RequestRefused) as refused:
        update(deep.url + "/v1/counters/c")
    assert (refused.value.status, refused.value.problem) == (409, None)


class Moved(RawServer):
    """Its document moved: 307 to another URL, for every method."""

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(answer(307, {"location": "/v1/elsewhere/c"}))
        await writer.drain()
        return True


@pytest.mark.parametrize("update", UPDATES)
def test_a_redirect_is_refused_saying_where_to(update: Callable[[str], StoredDocument]) -> None:
    """A 307 to the GET: `RequestRefused` naming where it pointed and that it was not followed
    (it said "GET answered 307")."""
    with hostile_server(Moved()) as moved, pytest.raises(RequestRefused) as refused:
        update(moved.url + "/v1/counters/c")
    assert "GET answered 307 to /v1/elsewhere/c (a redirect, not followed)" in str(refused.value)
