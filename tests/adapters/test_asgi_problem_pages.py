"""IdempotencyMiddleware (ASGI): which answers a browser gets as a page, and which go out untouched.

An app sends chosen messages through the middleware (a request with no
key: the app answers it), and the test reads what reaches the server: a
problem answered to a request preferring HTML is one page with its own
Content-Type, a Content-Length that is the page's, the problem's other
fields and ``Vary: Accept``; everything else (an API client's problem, a
HEAD, 204 and 304, a gzip-coded or very large problem, a stream, a
problem the app broke off) is the app's messages, one by one, unchanged,
but for ``Vary: Accept`` on every problem a browser would get as a page:
a shared cache must not give that JSON to a browser.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import pytest

from httpconflict import Unavailable
from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, Message, Scope
from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PROBLEM = Unavailable("the database does not answer", retry_after=3).problem.to_json()


def start(status: int, *fields: tuple[bytes, bytes]) -> Message:
    return {"type": "http.response.start", "status": status, "headers": list(fields)}


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


PROBLEM_START = start(
    503,
    (b"content-type", b"application/problem+json"),
    (b"content-length", str(len(PROBLEM)).encode()),
    (b"retry-after", b"3"),
)


class Broke(Exception):
    pass


def run(
    messages: list[Message],
    *,
    accept: list[str] | None = None,
    method: str = "POST",
    then_raise: bool = False,
    seen: list[int] | None = None,
    sent: list[Message] | None = None,
    pages: bool = True,
) -> list[Message]:
    """What the server is sent (into `sent`) when the app sends `messages` (then raises)."""
    sent = [] if sent is None else sent

    async def app(scope: Scope, receive: object, send: object) -> None:
        for message in messages:
            await send(message)  # type: ignore[operator]  # the ASGI send
            if seen is not None:
                seen.append(len(sent))  # what had reached the server once this was sent
        if then_raise:
            raise Broke

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"accept", a.encode("latin-1")) for a in ([FIREFOX] if accept is None else accept)]
    scope: Scope = {"type": "http", "method": method, "path": "/x", "headers": headers}
    middleware = IdempotencyMiddleware(
        app, store=MemoryIdempotencyStore(), policy=IdempotencyPolicy(), pages=pages
    )
    asyncio.run(middleware(scope, receive, send))
    return sent


def fields(message: Message) -> dict[bytes, bytes]:
    return dict(message["headers"])


def test_a_browser_s_problem_is_one_page_with_its_length_and_fields() -> None:
    """Status and Retry-After kept; the page's type and length, Vary: Accept; one body."""
    sent = run([PROBLEM_START, body(PROBLEM[:10], more=True), body(PROBLEM[10:])])
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 503
    page = sent[1]["body"]
    assert fields(sent[0]) == {
        b"content-type": b"text/html; charset=utf-8",
        b"content-length": str(len(page)).encode(),
        b"retry-after": b"3",
        b"vary": b"Accept",
    }
    assert all(name == name.lower() for name, _ in sent[0]["headers"])
    assert b"Nothing was saved. Wait 3 seconds, then reload this page" in page
    assert sent[1].get("more_body", False) is False


def test_pages_off_leaves_a_browser_s_problem_as_json() -> None:
    """``pages=False`` (an API, the service): the app's problem goes out as it was sent."""
    messages = [PROBLEM_START, body(PROBLEM)]
    assert run(messages, pages=False) == messages


def test_a_vary_of_the_app_gets_accept_added_once() -> None:
    """Vary: Accept-Encoding becomes "Accept-Encoding, Accept"; one naming Accept stays."""
    for vary, expected in [
        (b"Accept-Encoding", b"Accept-Encoding, Accept"),
        (b"accept", b"accept"),
        (b"*", b"*"),
    ]:
        answer = start(409, (b"content-type", b"application/problem+json"), (b"vary", vary))
        sent = run([answer, body(b"{}")])
        assert fields(sent[0])[b"vary"] == expected
        assert [n for n, _ in sent[0]["headers"]].count(b"vary") == 1


@pytest.mark.parametrize(
    ("accept", "page"),
    [
        pytest.param([FIREFOX], True, id="firefox-form"),
        pytest.param(["text/html,application/xhtml+xml,*/*;q=0.8"], True, id="chromium-like"),
        pytest.param([], False, id="no-accept"),
        pytest.param(["*/*"], False, id="fetch-default"),
        pytest.param(["application/json"], False, id="json"),
        pytest.param(["application/problem+json, text/html;q=0.9"], False, id="json-ranked-first"),
        pytest.param(["text/html, application/json;q=0.9"], True, id="html-ranked-first"),
        pytest.param(["text/html;q=0.8, */*;q=0.8"], False, id="a-tie-is-json"),
        pytest.param(["text/*"], False, id="html-never-named"),
        pytest.param(["text/html;q=2"], False, id="q-past-1-is-invalid"),
        pytest.param(["text/html;q=nan"], False, id="q-nan-is-invalid"),
        pytest.param(["text/html;q=-0.1, */*;q=0.1"], False, id="q-negative-is-invalid"),
        pytest.param(["text/html;q=", "*/*;q=0.1"], False, id="q-empty-is-invalid"),
        pytest.param(["text/html;level=1;q=0.9, */*;q=0.5"], True, id="q-after-a-parameter"),
        pytest.param(["TEXT/HTML", "*/*;q=0.1"], True, id="two-lines-and-case"),
    ],
)
def test_the_accept_field_decides(accept: list[str], page: bool) -> None:
    """A page only when HTML is named and ranked above every way of taking JSON; both vary."""
    sent = run([PROBLEM_START, body(PROBLEM)], accept=accept)
    media = fields(sent[0])[b"content-type"]
    assert media == (b"text/html; charset=utf-8" if page else b"application/problem+json")
    assert fields(sent[0])[b"vary"] == b"Accept"


def test_an_api_client_s_problem_is_the_app_s_json_with_vary_accept() -> None:
    """Its bytes as the app sent them; Vary: Accept, or a cache gives it to the next browser."""
    sent = run([PROBLEM_START, body(PROBLEM)], accept=["application/json"])
    assert sent == [varied(PROBLEM_START), body(PROBLEM)]


def test_a_very_long_accept_is_read_in_linear_time() -> None:
    """256 KiB of Accept items, HTML last: still a page, decided in well under a second."""
    items = ",".join(f"application/x-{n};q=0.{n % 10}" for n in range(12_000))
    accept = [items + ",text/html"]
    assert len(accept[0]) > 256 * 1024
    began = time.monotonic()
    sent = run([PROBLEM_START, body(PROBLEM)], accept=accept)
    assert time.monotonic() - began < 1.0
    assert fields(sent[0])[b"content-type"] == b"text/html; charset=utf-8"


def untouched(messages: list[Message], **options: object) -> None:
    """The app's `messages` reach the server as they are, one by one."""
    assert run(messages, **options) == messages  # type: ignore[arg-type]


def varied(message: Message) -> Message:
    """An answer's start as the app sent it, with Vary: Accept last."""
    return {**message, "headers": [*message["headers"], (b"vary", b"Accept")]}


def as_json(messages: list[Message], **options: object) -> None:
    """The app's problem `messages` reach the server as they are, but for Vary: Accept."""
    expected = [varied(messages[0]), *messages[1:]]
    assert run(messages, **options) == expected  # type: ignore[arg-type]


def test_a_head_is_json_with_vary_accept() -> None:
    """A HEAD's Content-Length is the GET's JSON's, and it has no body to make a page of."""
    as_json([PROBLEM_START, body(b"")], method="HEAD")


@pytest.mark.parametrize("status", [204, 304, 200, 302])
def test_answers_that_are_no_error_are_untouched(status: int) -> None:
    """204 and 304 have no body; a 2xx or 3xx is no refusal, whatever its type says."""
    answer = start(status, (b"content-type", b"application/problem+json"), (b"etag", b'"7"'))
    untouched([answer, body(b"")])


def test_a_gzip_coded_problem_is_a_page_sent_as_is() -> None:
    """A compression middleware inside: the problem is read from its gzip bytes."""
    coded = gzip.compress(PROBLEM)
    answer = start(
        503,
        (b"content-type", b"application/problem+json"),
        (b"content-encoding", b"gzip"),
        (b"content-length", str(len(coded)).encode()),
        (b"vary", b"Accept-Encoding"),
    )
    sent = run([answer, body(coded[:20], more=True), body(coded[20:])])
    page = sent[1]["body"]
    assert fields(sent[0]) == {
        b"content-type": b"text/html; charset=utf-8",
        b"content-length": str(len(page)).encode(),
        b"vary": b"Accept-Encoding, Accept",
    }
    assert b"Nothing was saved. Wait 3 seconds" in page


@pytest.mark.parametrize(
    ("coding", "data", "vary"),
    [
        pytest.param(b"br", b"\x1b\x00", False, id="a-coding-not-read"),
        pytest.param(b"gzip, gzip", gzip.compress(gzip.compress(PROBLEM)), False, id="two-codings"),
        pytest.param(b"gzip", PROBLEM, True, id="not-gzip-after-all"),
        pytest.param(b"gzip", gzip.compress(PROBLEM)[:-12], True, id="cut-short"),
        pytest.param(b"gzip", gzip.compress(b" " * 10_000_000), True, id="a-bomb-of-10-mb"),
    ],
)
def test_a_problem_coded_so_no_page_can_read_it_is_as_sent(
    coding: bytes, data: bytes, vary: bool
) -> None:
    """Unknown codings, bytes that do not decode, or decode past 64 KiB: as the app sent them.

    Vary: Accept where a gzip problem was held to be read: a smaller one would be a page.
    """
    answer = start(
        503, (b"content-type", b"application/problem+json"), (b"content-encoding", coding)
    )
    (as_json if vary else untouched)([answer, body(data)])


def test_a_problem_past_the_limit_goes_out_as_it_came() -> None:
    """More than 64 KiB of problem: held no further, every message as the app sent it."""
    big = json.dumps({"type": "about:blank", "detail": "x" * 70_000}).encode()
    chunks = [big[i : i + 8192] for i in range(0, len(big), 8192)]
    answer = start(409, (b"content-type", b"application/problem+json"))
    as_json([answer, *(body(c, more=True) for c in chunks), body(b"")])


def test_a_stream_passes_message_by_message() -> None:
    """An event stream's every message reaches the server before the app sends the next."""
    seen: list[int] = []
    stream = [
        start(200, (b"content-type", b"text/event-stream")),
        body(b"data: 1\n\n", more=True),
        body(b"data: 2\n\n", more=True),
        body(b""),
    ]
    assert run(stream, seen=seen) == stream
    assert seen == [1, 2, 3, 4]


def test_a_problem_the_app_broke_off_goes_out_as_it_came_then_its_error() -> None:
    """Raised mid-body: what it sent reaches the server, then the error goes on."""
    messages = [PROBLEM_START, body(PROBLEM[:10], more=True)]
    sent: list[Message] = []
    with pytest.raises(Broke):
        run(messages, then_raise=True, sent=sent)
    assert sent == [varied(PROBLEM_START), messages[1]]


def test_a_problem_the_app_left_unfinished_goes_out_as_it_came() -> None:
    """The app returned before its body's end: the server gets what it sent, unchanged."""
    as_json([PROBLEM_START, body(PROBLEM[:10], more=True)])


def test_a_started_answer_is_not_held_for_a_later_problem() -> None:
    """A 200 begun, then a body that looks like a problem: the answer is the app's."""
    untouched([start(200, (b"content-type", b"text/plain")), body(PROBLEM)])
