"""Requests whose bodies end early, sent over a raw socket.

A client that goes away in the middle of its body is what no HTTP client
library will send on purpose, so these bytes are written by hand: the
request head, the first `PART` bytes of the body (with Content-Length, or
as one chunk of a chunked body, without the last chunk), then the end of
the connection: a close, or a half-close (``shutdown(SHUT_WR)``) after
which whatever the server still answers is read.

The body's first `PART` bytes are a whole JSON object by themselves (the
rest is spaces), so a server that runs the request on what arrived finds
nothing wrong with it: only the framing says the body was cut.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

PART = 40
#: 40 bytes that are a JSON object by themselves; the whole body is 100.
PREFIX = b'{"item": "tea", "qty": 1, "note": "cut"}'
BODY = PREFIX.ljust(100)
assert len(PREFIX) == PART


@dataclass(frozen=True)
class Cut:
    """How the body is framed, and how the connection ends before the body does."""

    framing: Literal["length", "chunked"]
    ending: Literal["close", "half-close"]

    def __str__(self) -> str:
        return f"{self.framing}-{self.ending}"


CUTS = [Cut(f, e) for f in ("length", "chunked") for e in ("close", "half-close")]


def send_cut(
    url: str,
    method: str,
    target: str,
    headers: Mapping[str, str],
    cut: Cut,
    body: bytes = BODY,
) -> bytes:
    """Send `method target` with only the first `PART` bytes of `body`, then end the connection.

    Returns what the server answered before it closed (always b"" for a close).
    """
    address = urlsplit(url)
    assert address.hostname is not None
    assert address.port is not None
    lines = [f"{method} {target} HTTP/1.1", f"Host: {address.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sent = body[:PART]
    if cut.framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = sent
    else:
        lines.append("Transfer-Encoding: chunked")
        payload = f"{len(sent):x}\r\n".encode() + sent + b"\r\n"  # no last chunk: "0\r\n\r\n"
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(head + payload)
        if cut.ending == "close":
            return b""
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass  # the server gave up on the connection, which is an answer too
        return answer


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer, or None for no answer."""
    if not answer:
        return None
    return int(answer.split(b" ", 2)[1])
