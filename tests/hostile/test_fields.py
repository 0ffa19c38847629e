"""Hostile header field values: what they cost a worker after their request is answered.

A worker keeps the parse of field values clients send over and over (a
document's If-None-Match, the Host): a client that sends a different
64 KiB value each time must not be able to fill those caches with them.
Each test counts the worker's resident memory around its requests, on a
raw socket (httpx refuses some of these values).
"""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import httpx

from tests.hostile.support import Watched, create, resident_bytes


def send(service_url: str, head: bytes) -> bytes:
    """One request (a head, no body) on a connection of its own; what came back."""
    address = urlsplit(service_url)
    assert address.hostname is not None
    assert address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_host_port_of_thousands_of_digits_is_a_400(watched: Watched) -> None:
    """A Host port of 5,000 digits is a 400 problem, as any port past 65535.

    int() refuses a text of over 4,300 digits: the Host check raised, outside
    the layer that makes problems, and the client got a plain-text 500.
    """
    port = b"9" * 5000
    for head, slug in (
        (b"GET /healthz HTTP/1.1\r\nHost: localhost:" + port + b"\r\n", b"/malformed-header"),
        (b"GET /healthz HTTP/1.1\r\nHost: [::1]:" + port + b"\r\n", b"/malformed-header"),
        # Leading zeros: port 80, which any port of localhost may be.
        (b"GET /healthz HTTP/1.1\r\nHost: localhost:" + b"0" * 5000 + b"80\r\n", None),
        # The HTTP parser refuses the target itself (a 400 problem of its own).
        (b"GET http://localhost:" + port + b"/healthz HTTP/1.1\r\nHost: localhost\r\n", b""),
    ):
        answer = send(watched.service.url, head)
        assert b"content-type: application/problem+json" in answer.lower() or slug is None, answer
        if slug is None:
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
        else:
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
            assert slug in answer, answer[-300:]


def test_distinct_long_hosts_are_not_kept(watched: Watched) -> None:
    """600 requests, each naming another 60 KB Host, leave the worker as it was.

    Each decision was kept with its value (the last 1,024): 3,000 such
    requests grew each of two workers from 53 to 167 MiB.
    """
    start = resident_bytes(watched.pid)
    for n in range(600):
        answer = send(
            watched.service.url,
            b"GET /healthz HTTP/1.1\r\nHost: h%05d%s\r\n" % (n, b"a" * 60_000),
        )
        assert answer.startswith(b"HTTP/1.1 421 "), answer[:300]
    grown = resident_bytes(watched.pid) - start
    assert grown < 16 * 2**20, f"the worker grew by {grown / 2**20:.1f} MiB"


def test_distinct_long_entity_tag_lists_are_not_kept(watched: Watched, http: httpx.Client) -> None:
    """40 GETs, each with another If-None-Match of 64 long tags (58 KB), leave the worker as it was.

    Each parsed list was kept (the last 4,096), 1.1 MB apiece for 20,000
    tags: 200 such GETs grew a worker by 230 MB, and 4,096 would have taken
    4.6 GB. A list of 20,000 tags is now a 431 (more than 64 entity-tags).
    """
    url, etag = create(http, f"f{uuid.uuid4().hex[:12]}")
    tags = b",".join([b'"' + b"t" * 900 + b'"'] * 62)
    start = resident_bytes(watched.pid)
    for n in range(40):
        field = b'"other-%d", %s, %s' % (n, tags, etag.encode())
        answer = send(
            watched.service.url,
            b"GET %s HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: %s\r\n" % (url.encode(), field),
        )
        assert answer.startswith(b"HTTP/1.1 304 "), answer[:300]
    grown = resident_bytes(watched.pid) - start
    assert grown < 16 * 2**20, f"the worker grew by {grown / 2**20:.1f} MiB"
    many = b",".join([b'""'] * 20_000)
    answer = send(
        watched.service.url,
        b"GET %s HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: %s\r\n" % (url.encode(), many),
    )
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:300]
