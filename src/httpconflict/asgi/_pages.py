"""A browser's problem answers as pages: `problem_pages` wraps an ASGI call.

The core decides which requests get a page (`answers_page`), which answers
are problems to hold (`is_page_problem`), the page and its fields
(`page_answer`); this module only holds a problem's messages back until
its body is whole. Any
other answer goes out message by message as it comes (a stream is never
held), and so does a problem whose body passes `MAX_PROBLEM` bytes (what
was held first), or whose app sends something else than its body before
the end (trailers, a file), or returns or raises before it: then what was
held goes out as it came, before the app's error goes on.

An error the app raises goes on to the framework's 500 handler, outside
(Starlette's ``ServerErrorMiddleware`` wraps every middleware of an app's):
the scope tells that handler whether the request is one that gets pages
(`PAGES_SCOPE_KEY`), and `negotiated` makes its answer as this module
makes the others: the page, or the problem with ``Vary: Accept``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Final

from .._problem_page import (
    MAX_PROBLEM,
    PAGES_KEY,
    answers_page,
    is_page_problem,
    negotiated_answer,
    page_answer,
    paged_fields,
)
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PAGES_SCOPE_KEY", "negotiated", "problem_pages"]

#: In the scope of a request `problem_pages` saw: whether its problems are sent as pages.
PAGES_SCOPE_KEY: Final = PAGES_KEY


async def problem_pages(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`; its problem answer (if any) goes out as the core's page."""
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    scope[PAGES_SCOPE_KEY] = answers_page(scope["method"], _lines(scope, b"accept"))
    if not scope[PAGES_SCOPE_KEY]:
        await app(scope, receive, _varying(send))
        return
    held: list[Message] = []
    size = 0
    passing = False

    async def release() -> None:
        nonlocal passing
        passing = passing or bool(held)
        for message in held:
            await send(_start_varying(message) if message is held[0] else message)
        held.clear()

    async def paging(message: Message) -> None:
        nonlocal passing, size
        kind = message["type"]
        if passing:
            await send(message)
        elif kind == "http.response.start" and not held:
            fields = _text(message.get("headers", []))
            if not message.get("trailers") and is_page_problem(message["status"], fields):
                held.append(message)
            else:
                passing = True
                await send(message)
        elif kind == "http.response.body" and held:
            held.append(message)
            size += len(message.get("body", b""))
            if size > MAX_PROBLEM:
                await release()
            elif not message.get("more_body", False):
                if not await _send_page(send, held):
                    await release()  # not readable as a problem: as it came
                held.clear()
                passing = True
        else:  # trailers, a file, anything but the body while held: what was held, then it
            await release()
            await send(message)

    try:
        await app(scope, receive, paging)
    except BaseException:
        if held:  # the app raised before its problem's end: what it sent, then its error
            with suppress(Exception):
                await release()
        raise
    if held:  # the app returned before its problem's end: as it came
        await release()


def _varying(send: Send) -> Send:
    """`send`, its answer's start with the fields the core gives it where pages are made."""

    async def varying(message: Message) -> None:
        await send(_start_varying(message))

    return varying


def _start_varying(message: Message) -> Message:
    """An answer's start, with ``Vary: Accept`` if it is a problem a browser gets as a page."""
    if message["type"] != "http.response.start" or message.get("trailers"):
        return message
    fields = _text(message.get("headers", []))
    varied = paged_fields(message["status"], fields)
    if varied is fields:
        return message
    headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in varied]
    return {**message, "headers": headers}


async def _send_page(send: Send, held: list[Message]) -> bool:
    """Send the page of the problem `held` (its start and body), if the core makes one."""
    start, chunks = held[0], held[1:]
    body = b"".join(m.get("body", b"") for m in chunks)
    answer = page_answer(start["status"], _text(start.get("headers", [])), body)
    if answer is None:
        return False
    fields, page = answer
    headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in fields]
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": page})
    return True


def negotiated(
    scope: Scope, status: int, fields: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    """A problem answer (`status`, `fields`, `body`) made outside `problem_pages`, as it makes it.

    The core's `negotiated_answer`, for what `problem_pages` found of the
    request (nothing: it never saw it).
    """
    return negotiated_answer(scope.get(PAGES_SCOPE_KEY), status, fields, body)


def _text(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(bytes(n).decode("latin-1"), bytes(v).decode("latin-1")) for n, v in headers]


def _lines(scope: Scope, name: bytes) -> list[str]:
    return [bytes(v).decode("latin-1") for n, v in scope["headers"] if n == name]
