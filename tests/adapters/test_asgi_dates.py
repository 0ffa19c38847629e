"""DateMiddleware: one Date, the moment the answer starts, and Last-Modified never later."""

from __future__ import annotations

import asyncio

from httpconflict.asgi import DateMiddleware, Message, Receive, Scope, Send

NOW = 784111777.9  # Sun, 06 Nov 1994 08:49:37.9 GMT


def answer(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The header fields DateMiddleware sends for an app answering with `headers`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    asyncio.run(DateMiddleware(app, clock=lambda: NOW)(scope, receive, send))
    return list(sent[0]["headers"])


def test_the_date_is_the_moment_the_answer_starts() -> None:
    """An answer without Date gets one: the clock's second when the answer started."""
    assert answer([(b"content-type", b"application/json")]) == [
        (b"content-type", b"application/json"),
        (b"date", b"Sun, 06 Nov 1994 08:49:37 GMT"),
    ]


def test_a_date_the_app_set_is_replaced() -> None:
    """One Date only: the app's (or a lagging one) gives way to the moment of sending."""
    fields = answer([(b"Date", b"Sun, 06 Nov 1994 08:49:36 GMT")])
    assert fields == [(b"date", b"Sun, 06 Nov 1994 08:49:37 GMT")]


def test_a_last_modified_after_the_date_becomes_the_date() -> None:
    """RFC 9110 §8.8.2.1: a Last-Modified in the future is replaced by the Date."""
    fields = dict(answer([(b"last-modified", b"Sun, 06 Nov 1994 08:49:38 GMT")]))
    assert fields[b"last-modified"] == fields[b"date"] == b"Sun, 06 Nov 1994 08:49:37 GMT"


def test_an_earlier_last_modified_stays() -> None:
    """A Last-Modified before the Date is the app's, as it was."""
    fields = dict(answer([(b"last-modified", b"Sun, 06 Nov 1994 08:00:00 GMT")]))
    assert fields[b"last-modified"] == b"Sun, 06 Nov 1994 08:00:00 GMT"
