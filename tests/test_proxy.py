"""The lossy proxy of tests/proxy.py: it frames messages, keeps connections, loses answers whole."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.proxy import LossyProxy, _Head, _read_body, lossy_proxy
from tests.servers import ServiceProcess, start_service

COUNTER = "/v1/counters/proxied"


def body_of(raw: bytes, *, to_close: bool = True) -> tuple[bytes, bytes]:
    """The body read after `raw`'s head, and what is left in the stream."""

    async def run() -> tuple[bytes, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        head = _Head.parse(await reader.readuntil(b"\r\n\r\n"))
        body = await _read_body(reader, head, to_close=to_close)
        return body, await reader.read()

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("raw", "to_close", "expected"),
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT",
            True,
            (b"abc", b"NEXT"),
            id="rfc9112-6.3-content-length",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;x=y\r\nabc\r\n0\r\nTrailer: t\r\n\r\nNEXT",
            True,
            (b"3;x=y\r\nabc\r\n0\r\nTrailer: t\r\n\r\n", b"NEXT"),
            id="rfc9112-7.1-chunked-kept-as-sent",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\n\r\nall of it",
            True,
            (b"all of it", b""),
            id="rfc9112-6.3-to-close",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: h\r\n\r\nNEXT", False, (b"", b"NEXT"), id="request-no-body"
        ),
    ],
)
def test_bodies_are_framed_as_rfc_9112_says(
    raw: bytes, to_close: bool, expected: tuple[bytes, bytes]
) -> None:
    """Content-Length, chunked (with extensions and trailers) and close-delimited bodies."""
    assert body_of(raw, to_close=to_close) == expected


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One service on SQLite, with a counter at n = 0."""
    db = str(tmp_path_factory.mktemp("db") / "proxy.db")
    with start_service(db, tmp_path_factory.mktemp("log")) as running:
        with running.client() as http:
            created = http.put(COUNTER, json={"n": 0}, headers={"If-None-Match": "*"})
            assert created.status_code == 201, created.text
        yield running


def increment(http: httpx.Client, key: str) -> httpx.Request:
    """The PATCH of n + 1 from the counter as `http` reads it, with If-Match and `key`."""
    current = http.get(COUNTER)
    return http.build_request(
        "PATCH",
        COUNTER,
        json={"n": current.json()["n"] + 1},
        headers={
            "Content-Type": "application/merge-patch+json",
            "If-Match": current.headers["etag"],
            "Idempotency-Key": key,
        },
    )


def test_answers_pass_on_one_kept_alive_connection(service: ServiceProcess) -> None:
    """No drops: requests and answers go through unchanged, on one connection each way."""
    with lossy_proxy(service.url, drop=0) as proxy, httpx.Client(base_url=proxy.url) as http:
        direct = httpx.get(service.url + COUNTER)
        proxied = [http.get(COUNTER) for _ in range(3)]
        assert {(r.status_code, r.content) for r in proxied} == {(200, direct.content)}
        assert http.head(COUNTER).status_code == 200
        assert (
            http.get(COUNTER, headers={"If-None-Match": direct.headers["etag"]}).status_code == 304
        )
        assert http.get("/v1/counters/absent").status_code == 404
    assert proxy.tally.connections == 1
    assert proxy.tally.forwarded() == {
        ("GET", 200): 3,
        ("HEAD", 200): 1,
        ("GET", 304): 1,
        ("GET", 404): 1,
    }
    assert (proxy.tally.dropped(), proxy.tally.errors, proxy.tally.unanswered) == ({}, [], 0)


def test_a_dropped_answer_was_applied_and_is_tallied(service: ServiceProcess) -> None:
    """A PATCH answer lost: the client sees the connection drop, the write was applied and
    tallied so, and the same request resent is answered from its key."""
    before = httpx.get(service.url + COUNTER).json()["n"]
    with (
        lossy_proxy(service.url, drop=1, methods={"PATCH"}) as proxy,
        httpx.Client(base_url=proxy.url) as http,
    ):
        patch = increment(http, '"proxy-test"')
        with pytest.raises(httpx.RemoteProtocolError):
            http.send(patch)
        assert http.get(COUNTER).json()["n"] == before + 1
    with service.client() as direct:
        resent = direct.send(
            direct.build_request(
                patch.method, patch.url.path, headers=patch.headers, content=patch.content
            )
        )
    assert (resent.status_code, resent.headers["idempotent-replayed"]) == (200, "true")
    assert resent.json()["n"] == before + 1
    assert proxy.tally.forwarded() == {("GET", 200): 2}
    assert proxy.tally.dropped() == {("PATCH", 200): 1}
    assert proxy.tally.applied() == {'"proxy-test"': 1}
    # The drop closed the connection; the next GET came on a new one.
    assert proxy.tally.connections == 2


def test_which_answers_are_lost_depends_on_the_seed_and_method_alone(
    service: ServiceProcess,
) -> None:
    """The k-th GET answer is lost or not by the seed, however many HEADs came between."""

    def lost_gets(seed: int, heads: int) -> list[bool]:
        with lossy_proxy(service.url, drop=0.5, seed=seed) as proxy, service.client() as http:
            for _ in range(20):
                for method in ["GET"] + ["HEAD"] * heads:
                    with contextlib.suppress(httpx.RemoteProtocolError):
                        http.request(method, proxy.url + COUNTER)
        return [e.dropped for e in proxy.tally.snapshot() if e.method == "GET"]

    seven = lost_gets(7, heads=0)
    assert 0 < sum(seven) < 20
    assert lost_gets(7, heads=1) == seven != lost_gets(8, heads=0)


@contextlib.contextmanager
def one_answer_per_connection(answer: bytes) -> Iterator[str]:
    """A server that answers each connection's first request with `answer`, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join(10)
        listener.close()


def test_a_connection_the_server_closed_while_idle_is_opened_again() -> None:
    """RFC 9112 §9.6: the server closes an idle connection; the next request goes on a new one,
    and the client keeps its connection to the proxy. Chunked answers pass through whole."""
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    with (
        one_answer_per_connection(chunked) as upstream,
        lossy_proxy(upstream, drop=0) as proxy,
        httpx.Client(base_url=proxy.url) as http,
    ):
        first = http.get("/")
        time.sleep(0.1)
        second = http.get("/")
    assert (first.text, second.text) == ("ok", "ok")
    assert (proxy.tally.connections, proxy.tally.upstream_connections) == (1, 2)
    assert (proxy.tally.errors, proxy.tally.unanswered) == ([], 0)


def test_a_drop_rate_outside_zero_to_one_is_refused() -> None:
    """drop is a probability."""
    with pytest.raises(ValueError, match="probability"):
        LossyProxy(("127.0.0.1", 1), drop=1.5)
