"""A key's fingerprint takes in the fields that say which write a request is.

Through the real WSGI middleware on a real SQLite key store: a resend that
changes a precondition or the body's media type under its key is another
request (422); one that writes the same fields otherwise is the same
(replayed); and a record an earlier release made (its fingerprint of
method, target, caller and body only) is still replayed to the request it
records, so that an upgrade loses no answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict._fingerprint import fingerprint, meaning_fields
from httpconflict._idempotency import StoredResponse
from httpconflict.storage.idempotency.sqlite import SQLiteIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

Environ = dict[str, Any]


class Counter:
    """A WSGI app that counts the writes it runs and answers 200 with the count."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, environ: Environ, start_response: Any) -> Iterable[bytes]:
        self.runs += 1
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"runs": %d}' % self.runs]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, Counter, Path]]:
    app = Counter()
    path = tmp_path / "keys.db"
    middleware = IdempotencyMiddleware(
        app, store=SQLiteIdempotencyStore(path), policy=IdempotencyPolicy()
    )
    try:
        transport = httpx.WSGITransport(app=middleware)
        with httpx.Client(transport=transport, base_url="http://app") as client:
            yield client, app, path
    finally:
        middleware.close()


def put(client: httpx.Client, headers: list[tuple[str, str]]) -> httpx.Response:
    return client.put("/doc", content=b'{"n": 2}', headers=[("Idempotency-Key", '"k"'), *headers])


def test_a_changed_precondition_or_media_type_is_another_request(
    served: tuple[httpx.Client, Counter, Path],
) -> None:
    client, app, _ = served
    first = put(client, [("Content-Type", "application/json"), ("If-Match", '"a"')])
    assert first.status_code == 200
    for changed in (
        [("Content-Type", "application/json"), ("If-Match", '"b"')],
        [("Content-Type", "application/json")],
        [("Content-Type", "application/merge-patch+json"), ("If-Match", '"a"')],
        [("Content-Type", "application/json"), ("If-Match", '"a"'), ("Prefer", "rebase")],
        [("Content-Type", "application/json"), ("If-Match", '"a"'), ("If-None-Match", "*")],
    ):
        answer = put(client, changed)
        assert answer.status_code == 422, (changed, answer.text)
    same = put(client, [("Content-Type", "Application/JSON; charset=UTF-8"), ("If-Match", ' "a" ')])
    assert (same.status_code, same.headers.get("idempotent-replayed")) == (200, "true")
    assert app.runs == 1


def test_a_record_an_earlier_release_made_is_replayed_to_its_request(
    served: tuple[httpx.Client, Counter, Path],
) -> None:
    """The record holds the earlier fingerprint: the same request resent after the upgrade is
    replayed its answer, and runs nothing."""
    client, app, path = served
    headers = [("Content-Type", "application/json"), ("If-Match", '"a"')]
    earlier = fingerprint("PUT", "/doc", "anonymous", b'{"n": 2}')
    now = fingerprint(
        "PUT", "/doc", "anonymous", b'{"n": 2}', meaning_fields(lambda n: dict_lines(headers, n))
    )
    assert earlier != now

    async def recorded_by_the_earlier_release() -> None:
        store = SQLiteIdempotencyStore(path)
        try:
            clock = time.time()
            assert (
                await store.claim("anonymous", "k", earlier, "t" * 32, now=clock, lease=30) is None
            )
            answer = StoredResponse(200, (("content-type", "application/json"),), b'{"runs": 7}')
            await store.complete("anonymous", "k", "t" * 32, answer, now=clock, retention=3600)
        finally:
            await store.close()

    asyncio.run(recorded_by_the_earlier_release())
    again = put(client, headers)
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (200, "true")
    assert again.content == b'{"runs": 7}'
    assert app.runs == 0


def dict_lines(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for field, value in headers if field.lower() == name]


def test_a_prefer_value_is_compared_as_a_list_of_preferences(
    served: tuple[httpx.Client, Counter, Path],
) -> None:
    """A comma inside a quoted value splits no preference; a name's case and an empty element
    mean nothing (RFC 7240 §2, RFC 9110 §5.6.1)."""
    client, app, _ = served
    first = put(client, [("Content-Type", "application/json"), ("Prefer", 'x="a, b", rebase')])
    assert first.status_code == 200
    other = put(client, [("Content-Type", "application/json"), ("Prefer", 'x="a,b", rebase')])
    assert other.status_code == 422, other.text
    same = put(client, [("Content-Type", "application/json"), ("Prefer", 'X="a, b",, Rebase')])
    assert (same.status_code, same.headers.get("idempotent-replayed")) == (200, "true")
    assert app.runs == 1
