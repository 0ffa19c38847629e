"""Hostile bytes over a raw socket, where HTTP clients refuse to send them.

The requests are written by hand; h11 only reads the answers. A refusal by
the app (a 4xx problem) leaves the connection open: the next request on it,
a GET, is answered too. A request the HTTP parser itself refuses is a 400
problem, after which the server closes the connection, as it must when it
can no longer tell where the next request starts.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from tests.hostile.support import ORIGINAL, Watched, create, resident_bytes, snapshot


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def exchange(url: str, requests: list[bytes]) -> tuple[list[Answer], bool]:
    """Send each request in turn on one connection; the answers, and whether it stayed open."""
    address = urlsplit(url)
    assert address.hostname is not None
    assert address.port is not None
    answers: list[Answer] = []
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        reader = h11.Connection(h11.CLIENT)
        for request in requests:
            # h11 reads the answer to a request it believes it sent; the bytes are ours.
            reader.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
            reader.send(h11.EndOfMessage())
            sock.sendall(request)
            answer = _read(sock, reader)
            if answer is None:
                return answers, False
            answers.append(answer)
            if reader.our_state is not h11.DONE or reader.their_state is not h11.DONE:
                return answers, False
            reader.start_next_cycle()
    return answers, True


def _read(sock: socket.socket, reader: h11.Connection) -> Answer | None:
    status, headers, body = 0, {}, b""
    while True:
        event = reader.next_event()
        if event is h11.NEED_DATA:
            reader.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
            headers = {name.decode(): value.decode("latin-1") for name, value in event.headers}
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return Answer(status, headers, body)
        elif isinstance(event, h11.ConnectionClosed):
            return None


def request(method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = [f"{method} {target} HTTP/1.1".encode(), b"Host: localhost"]
    head += [name + b": " + value for name, value in headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def chunked(*chunks: bytes) -> bytes:
    framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return framed + b"0\r\n\r\n"


def assert_problem_answer(answer: Answer, status: int, slug: str | None = None) -> None:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/problem+json"
    if slug is not None:
        assert f'"type":"{PROBLEM_TYPE_BASE}{slug}"'.encode() in answer.body, answer.body


JSON = (b"Content-Type", b"application/json")
CHUNKED = (b"Transfer-Encoding", b"chunked")

# (method, headers besides the document's If-Match, body, status, problem type)
APP_REFUSALS = [
    pytest.param(
        [JSON, CHUNKED], chunked(b'{"x": 1e4', b"00}"), 422, "json-limit", id="1e400-across-chunks"
    ),
    pytest.param(
        [JSON, CHUNKED],
        chunked(b'{"s": "\\ud8', b'00"}'),
        422,
        "json-limit",
        id="surrogate-escape-across-chunks",
    ),
    pytest.param(
        [JSON, CHUNKED], chunked(*[b"["] * 5000), 422, "json-limit", id="5000-brackets-in-chunks"
    ),
    pytest.param(
        [JSON, (b"Content-Length", b"12")], b'{"s": "\xed\xa0\x80"}', 400, "malformed-json",
        id="utf8-encoded-surrogate",
    ),
    pytest.param(
        [(b"Content-Type", b"application/json; charset=\xe9"), (b"Content-Length", b"2")],
        b"{}",
        415,
        "unsupported-media-type",
        id="latin-1-byte-in-content-type",
    ),
    pytest.param(
        [JSON, (b"Content-Length", b"2"), (b"If-None-Match", b'"\xff\x00x')],
        b"{}",
        None,
        None,
        id="nul-in-if-none-match",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("headers", "body", "status", "slug"), APP_REFUSALS)
def test_refusal_keeps_the_connection_and_the_document(
    watched: Watched,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    status: int | None,
    slug: str | None,
) -> None:
    """A hostile PUT is a 4xx problem; the document is unchanged and the connection open."""
    with watched.service.client() as http:
        url, etag = create(http, f"r{uuid.uuid4().hex[:12]}")
        before = snapshot(http, url)
        hostile = request("PUT", url, [(b"If-Match", etag.encode()), *headers], body)
        answers, open_after = exchange(watched.service.url, [hostile, request("GET", url, [], b"")])
        if status is None:
            # The HTTP parser refused it: a 400 problem, and the connection is closed.
            assert_problem_answer(answers[0], 400)
            assert not open_after
        else:
            assert_problem_answer(answers[0], status, slug)
            assert open_after
            assert (answers[1].status, answers[1].body) == (200, ORIGINAL)
        assert snapshot(http, url) == before


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(b"/v1/notes/\xff", id="non-ascii-byte"),
        pytest.param(b"/v1/notes/%ED%A0%80", id="percent-encoded-surrogate"),
        pytest.param(b"/v1/notes/%00", id="percent-encoded-nul"),
        pytest.param(b"/v1/notes/x?limit=%ff", id="invalid-utf8-query"),
    ],
)
def test_hostile_targets_are_4xx(watched: Watched, target: bytes) -> None:
    """A request target with bytes no client sends is a 4xx problem, never a 5xx."""
    raw = b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    answers, _ = exchange(watched.service.url, [raw])
    assert 400 <= answers[0].status < 500, answers[0]
    assert answers[0].headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param(b"zz\r\n" + ORIGINAL + b"\r\n0\r\n\r\n", id="size-not-hex"),
        pytest.param(b"-13\r\n" + ORIGINAL + b"\r\n0\r\n\r\n", id="negative-size"),
        pytest.param(b"FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n", id="size-over-64-bits"),
        pytest.param(b"13\r\n" + ORIGINAL + b"\r\nzz\r\n0\r\n\r\n", id="second-size-not-hex"),
    ],
)
def test_malformed_chunked_body_is_a_400_at_once(watched: Watched, framing: bytes) -> None:
    """A chunked body the parser refuses mid-way is a 400 problem at once, with nothing written.

    The head had reached the app, which waited for the rest of the body:
    the refusal answered nothing and stopped the body's clock, so the
    request hung for as long as the client kept the connection open.
    """
    with watched.service.client() as http:
        url, etag = create(http, f"r{uuid.uuid4().hex[:12]}")
        before = snapshot(http, url)
        key = (b"Idempotency-Key", uuid.uuid4().hex.encode())
        hostile = request("PUT", url, [(b"If-Match", etag.encode()), JSON, CHUNKED, key], framing)
        address = urlsplit(watched.service.url)
        assert address.hostname is not None
        assert address.port is not None
        with socket.create_connection((address.hostname, address.port), timeout=3) as sock:
            sock.sendall(hostile)
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except TimeoutError:
                pytest.fail(f"no answer within 3 s; received {received!r}")
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), received
        assert b"content-type: application/problem+json" in head.lower(), received
        assert b"HTTP parser refused" in body, body
        assert snapshot(http, url) == before
        # Nothing was recorded under the key: the whole request, sent again, is its first.
        again = http.put(
            url,
            content=b'{"n":2}',
            headers={
                "content-type": "application/json",
                "If-Match": etag,
                "Idempotency-Key": key[1].decode(),
            },
        )
        assert again.status_code == 200, again.text
        assert "idempotent-replayed" not in again.headers


@pytest.mark.parametrize(
    "coding",
    [
        pytest.param(b"gzip, chunked", id="gzip-then-chunked"),
        pytest.param(b"deflate,chunked", id="deflate-then-chunked"),
        pytest.param(b"x-custom, chunked", id="unknown-then-chunked"),
    ],
)
def test_a_transfer_coding_other_than_chunked_is_501(watched: Watched, coding: bytes) -> None:
    """RFC 9112 §6.1: a transfer coding the server does not decode is 501, saying which.

    The parser undoes only the chunked framing: the body under it would
    reach the app still coded, and be refused for what it is not.
    """
    with watched.service.client() as http:
        url, etag = create(http, f"t{uuid.uuid4().hex[:12]}")
        before = snapshot(http, url)
        hostile = request(
            "PUT",
            url,
            [(b"If-Match", etag.encode()), JSON, (b"Transfer-Encoding", coding)],
            chunked(ORIGINAL),
        )
        answers, _ = exchange(watched.service.url, [hostile])
        assert_problem_answer(answers[0], 501)
        assert b"chunked" in answers[0].body
        assert snapshot(http, url) == before


def trailed(body: bytes, trailer: bytes) -> bytes:
    """A chunked body of one chunk, then trailer fields (RFC 9112 §7.1.2)."""
    return b"%x\r\n%s\r\n0\r\n%s\r\n" % (len(body), body, trailer)


@pytest.mark.parametrize(
    ("head", "trailer", "status", "slug"),
    [
        pytest.param([JSON], b"If-Match: {etag}\r\n", 428, "precondition-required", id="if-match"),
        pytest.param(
            [(b"If-Match", b"{etag}")],
            b"Content-Type: application/json\r\n",
            415,
            "unsupported-media-type",
            id="content-type",
        ),
        pytest.param(
            [JSON, (b"If-Match", b"{etag}")],
            b"Host: evil.example\r\n",
            200,
            None,
            id="second-host",
        ),
    ],
)
def test_trailer_fields_are_no_header_fields(
    watched: Watched,
    head: list[tuple[bytes, bytes]],
    trailer: bytes,
    status: int,
    slug: str | None,
) -> None:
    """A field after a chunked body is dropped: the request is judged by its head alone.

    uvicorn appended trailer fields to the header list the app holds, so a
    PUT whose head had no precondition was applied under the If-Match of its
    trailer, and a trailer Host made the request name two hosts (400).
    RFC 9110 §6.5.1: a trailer field is never merged into the header section.
    """
    with watched.service.client() as http:
        url, etag = create(http, f"t{uuid.uuid4().hex[:12]}")
        before = snapshot(http, url)
        fields = [(name, value.replace(b"{etag}", etag.encode())) for name, value in head]
        body = trailed(b'{"n":2}', trailer.replace(b"{etag}", etag.encode()))
        hostile = request("PUT", url, [*fields, CHUNKED], body)
        answers, open_after = exchange(watched.service.url, [hostile, request("GET", url, [], b"")])
        assert open_after
        if slug is None:
            assert answers[0].status == status, answers[0]
            assert answers[1].body == b'{"n":2}'
        else:
            assert_problem_answer(answers[0], status, slug)
            assert snapshot(http, url) == before


@pytest.mark.parametrize(
    "field",
    [
        pytest.param(b"X-Filler: " + b"a" * 1010 + b"\r\n", id="many-fields"),
        pytest.param(b"a" * 1024, id="one-endless-field"),
    ],
)
def test_trailer_fields_past_the_head_limit_are_431(watched: Watched, field: bytes) -> None:
    """64 MiB of trailer fields: a 431 problem once past the head's limit, none of them kept.

    The head's limit (--max-header-bytes) did not count them: the worker
    held every byte (100 MiB of trailer fields added 103 MiB to its memory)
    and then answered the request as if nothing had happened.
    """
    with watched.service.client() as http:
        url, etag = create(http, f"t{uuid.uuid4().hex[:12]}")
        before = snapshot(http, url)
        key = (b"Idempotency-Key", uuid.uuid4().hex.encode())
        head = request("PUT", url, [(b"If-Match", etag.encode()), JSON, CHUNKED, key], b"")
        start = resident_bytes(watched.pid)
        address = urlsplit(watched.service.url)
        assert address.hostname is not None
        assert address.port is not None
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            sock.sendall(head + b"7\r\n" + b'{"n":2}' + b"\r\n0\r\n")

            def flood() -> None:
                with contextlib.suppress(OSError):  # the server closes once it has answered
                    for _ in range(64 * 1024):
                        sock.sendall(field)

            sender = threading.Thread(target=flood)
            sender.start()
            received = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    received += chunk
            sender.join()
        grown = resident_bytes(watched.pid) - start
        assert received.startswith(b"HTTP/1.1 431 "), received[:300]
        assert b"header-fields-too-large" in received, received
        assert grown < 16 * 2**20, f"the worker grew by {grown / 2**20:.1f} MiB"
        assert snapshot(http, url) == before
        # Nothing was recorded under the key: the same request, sent whole, is its first.
        again = http.put(
            url,
            content=b'{"n":2}',
            headers={
                "content-type": "application/json",
                "If-Match": etag,
                key[0].decode(): key[1].decode(),
            },
        )
        assert again.status_code == 200, again.text
        assert "idempotent-replayed" not in again.headers


def test_trailer_fields_past_the_head_limit_in_one_read_are_431(watched: Watched) -> None:
    """A request sent whole (head, body, 80 KiB of trailer fields), as a proxy forwards it: 431.

    The trailer bytes were counted only when they came in a read of their
    own: those parsed in the read that ended the body were not, so a
    request written at once (by tests/proxy.py, by any client) had 200 KiB
    of trailer fields past --max-header-bytes taken, and was applied.
    """
    with watched.service.client() as http:
        url, etag = create(http, f"t{uuid.uuid4().hex[:12]}")
        before = snapshot(http, url)
        trailer = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"a" * 1000) for n in range(80))
        fields = [(b"If-Match", etag.encode()), JSON, CHUNKED]
        hostile = request("PUT", url, fields, trailed(b'{"n":2}', trailer))
        answers, open_after = exchange(watched.service.url, [hostile, request("GET", url, [], b"")])
        assert_problem_answer(answers[0], 431, "header-fields-too-large")
        assert not open_after  # the GET behind it was never run
        assert snapshot(http, url) == before


def test_a_client_that_pipelines_requests_and_hangs_up_logs_no_error(watched: Watched) -> None:
    """100 pipelined GETs, one answer read, then a reset: the requests behind it end quietly.

    uvicorn told only the last request read that its client was gone: on
    PostgreSQL (where a GET waits for the database) the request running went
    on answering into the closed connection, and 13 to 25 of 50 such
    clients each logged an ERROR incident ("failed in its answer") and
    uvicorn's "ASGI callable returned without completing response".
    """
    with watched.service.client() as http:
        url, _ = create(http, f"p{uuid.uuid4().hex[:12]}")
        before = watched.service.log_path.read_text().count("ERROR")
        address = urlsplit(watched.service.url)
        assert address.hostname is not None
        assert address.port is not None
        pipelined = request("GET", url, [], b"") * 100
        for _ in range(40):
            with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
                sock.sendall(pipelined)
                assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
                # Closed with unread answers waiting: a reset.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert http.get(url).status_code == 200
        time.sleep(0.5)  # the requests still running finish
        logged = watched.service.log_path.read_text().splitlines()
    errors = [line for line in logged if "ERROR" in line]
    assert errors[before:] == []
