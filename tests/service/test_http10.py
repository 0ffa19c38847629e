"""Answers to HTTP/1.0 requests carry no Transfer-Encoding: a streamed body ends at the close.

An HTTP/1.0 client knows no chunked coding (RFC 9112 §6.1: a server MUST
NOT send Transfer-Encoding in answer to an HTTP/1.0 request) and reads the
chunk sizes as content. uvicorn's httptools protocol chunked every body of
unknown length whatever the version: the change feed's events and a
streamed list came with hex lengths between their lines. Raw sockets, a
real service, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

from tests.servers import ServiceProcess


def http10(service: ServiceProcess, target: str, headers: str = "", wait: float = 10) -> bytes:
    """Everything the service sent to an HTTP/1.0 request, up to its close (or `wait` seconds)."""
    port = int(service.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        head = f"GET {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n"
        sock.sendall(head.encode())
        received, deadline = b"", time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                return received
            received += data
    return received


def split(answer: bytes) -> tuple[list[str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode("latin-1").lower().split("\r\n"), body


def test_a_list_is_sent_whole_and_closed(service: ServiceProcess) -> None:
    collection = f"h{uuid.uuid4().hex[:8]}"
    with service.client() as http:
        for n in range(3):
            assert http.put(f"/v1/{collection}/d{n}", json={"n": n}).status_code == 201
    fields, body = split(http10(service, f"/v1/{collection}"))
    assert fields[0].startswith("http/1.1 200")
    assert not any(f.startswith("transfer-encoding") for f in fields), fields
    assert "connection: close" in fields
    listed = json.loads(body)  # not hex lengths around it
    assert [item["document"] for item in listed["items"]] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_the_change_feed_streams_plain_events(service: ServiceProcess) -> None:
    """A stream opened with heartbeat=1, read for 2.5 s: its events, as they are, nothing else."""
    collection = f"h{uuid.uuid4().hex[:8]}"
    target = f"/v1/{collection}/_changes?heartbeat=1"
    fields, body = split(http10(service, target, "Accept: text/event-stream\r\n", wait=2.5))
    assert fields[0].startswith("http/1.1 200")
    assert not any(f.startswith("transfer-encoding") for f in fields), fields
    assert [f for f in fields if f.startswith("connection")] == ["connection: close"]
    blocks = [b for b in body.decode().split("\n\n") if b]
    assert len(blocks) >= 2, body
    assert all(b.startswith("id: ") and "event: heartbeat" in b for b in blocks), body


def test_a_known_length_is_still_sent(service: ServiceProcess) -> None:
    collection = f"h{uuid.uuid4().hex[:8]}"
    with service.client() as http:
        assert http.put(f"/v1/{collection}/d", json={"n": 1}).status_code == 201
    fields, body = split(http10(service, f"/v1/{collection}/d"))
    assert f"content-length: {len(body)}" in fields
    assert json.loads(body) == {"n": 1}


def test_an_expectation_of_100_continue_is_ignored(service: ServiceProcess) -> None:
    """RFC 9110 §10.1.1: no 100 (Continue) to an HTTP/1.0 client, which would take it for the
    answer; the body is awaited as if no expectation had come, then the 201."""
    port = int(service.url.rsplit(":", 1)[1])
    target = f"/v1/h{uuid.uuid4().hex[:8]}/d"
    body = b'{"n": 1}'
    head = (
        f"PUT {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nExpect: 100-continue\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(head.encode())
        try:
            early = sock.recv(65536)
        except TimeoutError:
            early = b""
        assert early == b"", f"answered before the body was sent: {early[:60]!r}"
        sock.settimeout(10)
        sock.sendall(body)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    fields, _ = split(answer)
    assert fields[0].startswith("http/1.1 201"), fields
