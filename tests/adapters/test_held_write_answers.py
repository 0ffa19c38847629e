"""`WriteWatchMiddleware` holds a write's whole answer until the app returns; nothing else.

What the app sends is recorded with what had gone out to the server at
that moment, so each test sees when its answer left.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from httpconflict.asgi._writes import WriteWatchMiddleware

Message = dict[str, Any]
START: Message = {"type": "http.response.start", "status": 200, "headers": []}


def _serve(
    method: str,
    answer: Callable[[Callable[[Message], Awaitable[None]], list[Message]], Awaitable[None]],
    *,
    hold: bool = True,
    out: list[Message] | None = None,
) -> list[Message]:
    """What went out (into `out`) for a `method` request to the app running `answer(send, out)`."""
    out = [] if out is None else out

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await answer(send, out)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        out.append(message)

    scope = {"type": "http", "method": method, "path": "/n", "headers": []}
    asyncio.run(WriteWatchMiddleware(app, hold_answers=hold)(scope, receive, send))  # type: ignore[arg-type]
    return out


def _body(data: bytes, *, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


@pytest.mark.parametrize(
    ("method", "hold", "out_before_return"),
    [
        pytest.param("POST", True, 0, id="write-held"),
        pytest.param("DELETE", True, 0, id="empty-write-held"),
        pytest.param("GET", True, 2, id="read-goes-at-once"),
        pytest.param("POST", False, 2, id="not-held-when-asked"),
    ],
)
def test_a_whole_answer(method: str, hold: bool, out_before_return: int) -> None:
    """A write's whole answer goes out once the app returns (its dependencies' exits ran)."""
    seen: list[int] = []

    async def answer(send: Callable[[Message], Awaitable[None]], out: list[Message]) -> None:
        await send(START)
        await send(_body(b"" if method == "DELETE" else b"{}"))
        seen.append(len(out))  # a dependency's exit would run here

    out = _serve(method, answer, hold=hold)
    assert seen == [out_before_return]
    assert [m["type"] for m in out] == ["http.response.start", "http.response.body"]


def test_a_streamed_write_goes_out_as_it_comes() -> None:
    """A write's answer in parts (server-sent events) is not held: each part leaves when sent."""
    seen: list[int] = []

    async def answer(send: Callable[[Message], Awaitable[None]], out: list[Message]) -> None:
        await send(START)
        for part in (b"a", b"b"):
            await send(_body(part, more=True))
            seen.append(len(out))
        await send(_body(b""))

    out = _serve("POST", answer)
    assert seen == [2, 3]
    assert [m.get("body") for m in out] == [None, b"a", b"b", b""]


def test_a_background_failure_after_a_write_leaves_its_answer() -> None:
    """The app's own error after a whole answer (a background task's): the answer, then it."""

    async def answer(send: Callable[[Message], Awaitable[None]], _: list[Message]) -> None:
        await send(START)
        await send(_body(b"{}"))
        raise ValueError("the notification failed")

    out: list[Message] = []
    with pytest.raises(ValueError, match="notification"):
        _serve("POST", answer, out=out)
    assert [m["type"] for m in out] == ["http.response.start", "http.response.body"]
    assert out[0]["status"] == 200


def test_a_failed_commit_after_a_write_is_answered_504() -> None:
    """An outage raised by a COMMIT after a held answer: 504 outcome-unknown, not the 200."""

    class Connection:
        def commit(self) -> None:
            error = sqlite3.OperationalError("disk I/O error")
            error.sqlite_errorcode = 10
            raise error

    async def answer(send: Callable[[Message], Awaitable[None]], _: list[Message]) -> None:
        await send(START)
        await send(_body(b'{"saved": true}'))
        Connection().commit()  # the dependency's exit, committing

    out = _serve("POST", answer)
    assert out[0]["status"] == 504
    assert b"outcome-unknown" in out[1]["body"]
