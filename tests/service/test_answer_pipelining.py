"""Requests pipelined behind an answer the client is not taking: run once, in order, or not at all.

A request pipelined behind an answer that the client does not take waits,
unrun, until the client takes it (its answer would be made and held in the
worker meanwhile). Real servers (SQLite, then PostgreSQL; 2 workers), raw
sockets: a GET of a 7 MB page, then an If-Match PUT of a pure counter and
a GET of it, on one connection whose client does not read. The PUT has not
run while the page is not taken; read whole, the three answers come in order and the counter
went up once; closed half-way, the PUT never ran. And a connection whose
only write is such a request, unrun, or one refused (412: nothing applied),
is cut like a GET-only one when the worker needs the room: neither can hold
the answer budget, and every large GET with it, for the body timeout.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import ServiceProcess, start_service

pytestmark = pytest.mark.slow

BUDGET = 16 * 1024 * 1024
DOCUMENTS = 8
DOCUMENT = 900_000
PAGE = f"/v1/big?limit={DOCUMENTS}"
GET_PAGE = f"GET {PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n".encode()
GET_COUNTER = b"GET /v1/small/counter HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
TCP_ESTABLISHED = 1
#: Clients that stall on the page: enough to pass the budget of both workers.
STALLED = 60


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("pipelining")
    if request.param == "sqlite":
        db = str(tmp / "db.sqlite")
    else:
        db = request.getfixturevalue("postgres_module_schema")
    with (
        start_service(
            db,
            tmp,
            workers=2,
            fork_workers=True,
            extra=("--max-answer-memory", str(BUDGET)),
            allowed_5xx=frozenset({503}),
        ) as running,
        httpx.Client(base_url=running.url, timeout=30) as http,
    ):
        for n in range(DOCUMENTS):
            body = {"n": n, "pad": "x" * DOCUMENT}
            assert http.put(f"/v1/big/d{n}", json=body).status_code == 201
        assert http.put("/v1/small/counter", json={"n": 0}).status_code == 201
        yield running


def port_of(service: ServiceProcess) -> int:
    return int(service.url.rsplit(":", 1)[1])


def counter(service: ServiceProcess) -> tuple[int, str]:
    read = httpx.get(f"{service.url}/v1/small/counter", timeout=30)
    return read.json()["n"], read.headers["etag"]


def put(path: str, n: int, etag: str) -> bytes:
    body = json.dumps({"n": n}).encode()
    return (
        f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"If-Match: {etag}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def stalled_connection(port: int, requests: bytes) -> socket.socket:
    """`requests` sent on a connection whose client reads nothing yet (4 KB receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(requests)
    return sock


def read_answers(sock: socket.socket, count: int, *, fast: bool = True) -> list[tuple[int, bytes]]:
    """Read `count` answers (status, body) off `sock`: bodies with a length or chunked.

    `fast`: with a receive buffer that takes a page at once.
    """
    if fast:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.settimeout(30)
    buffer = bytearray()

    def more() -> None:
        chunk = sock.recv(1 << 20)
        assert chunk, f"closed after {len(buffer)} bytes"
        buffer.extend(chunk)

    def take(size: int) -> bytes:
        while len(buffer) < size:
            more()
        taken = bytes(buffer[:size])
        del buffer[:size]
        return taken

    def line() -> bytes:
        while b"\r\n" not in buffer:
            more()
        end = buffer.index(b"\r\n")
        return take(end + 2)[:-2]

    answers = []
    for _ in range(count):
        status = int(line().split()[1])
        fields = {}
        while field := line():
            name, _, value = field.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if b"content-length" in fields:
            body = take(int(fields[b"content-length"]))
        else:
            parts = []
            while size := int(line(), 16):
                parts.append(take(size))
                take(2)
            take(2)
            body = b"".join(parts)
        answers.append((status, body))
    return answers


def page_put_get(service: ServiceProcess) -> tuple[int, socket.socket]:
    """The counter's value, and a stalled connection: the page, an If-Match PUT of n+1, a GET."""
    n, etag = counter(service)
    requests = GET_PAGE + put("/v1/small/counter", n + 1, etag) + GET_COUNTER
    return n, stalled_connection(port_of(service), requests)


def test_a_put_pipelined_behind_an_untaken_page_runs_once_when_it_is_taken(
    service: ServiceProcess,
) -> None:
    n, sock = page_put_get(service)
    with sock:
        time.sleep(2)
        assert counter(service)[0] == n, "the PUT ran while the page ahead of it was not taken"
        answers = read_answers(sock, 3)
    assert [status for status, _ in answers] == [200, 200, 200]
    assert len(answers[0][1]) > DOCUMENTS * DOCUMENT
    assert json.loads(answers[1][1]) == {"n": n + 1}
    assert json.loads(answers[2][1]) == {"n": n + 1}
    assert counter(service)[0] == n + 1


def test_a_put_pipelined_behind_untaken_documents_runs_once_when_they_are_taken(
    service: ServiceProcess,
) -> None:
    """Documents' answers complete while the client is not taking them: the PUT waits all the same.

    A list page waits for its client between batches, so the request behind
    it starts only once the page is taken; a document's answer is written
    whole, and complete while not taken. On uvicorn before 0.45 (no
    `_start_asgi_task`), the request held back behind it was never run: the
    client waited for its answer until the body timeout.
    """
    n, etag = counter(service)
    documents = b"".join(
        GET_PAGE.replace(PAGE.encode(), b"/v1/big/d%d" % d) for d in range(DOCUMENTS)
    )
    sock = stalled_connection(
        port_of(service), documents + put("/v1/small/counter", n + 1, etag) + GET_COUNTER
    )
    with sock:
        time.sleep(2)
        assert counter(service)[0] == n, "the PUT ran while the answers ahead of it were not taken"
        answers = read_answers(sock, DOCUMENTS + 2)
    assert [status for status, _ in answers] == [200] * (DOCUMENTS + 2)
    assert [json.loads(body)["n"] for _, body in answers[:DOCUMENTS]] == list(range(DOCUMENTS))
    assert json.loads(answers[-2][1]) == json.loads(answers[-1][1]) == {"n": n + 1}
    assert counter(service)[0] == n + 1


def test_a_put_pipelined_behind_a_page_closed_half_way_never_runs(
    service: ServiceProcess,
) -> None:
    # The receive buffer stays small: a large one took the rest of the page before the
    # close, and the page was then complete (the PUT ran, rightly: the page was taken).
    n, sock = page_put_get(service)
    with sock:
        time.sleep(1)
        taken = 0
        while taken < 1_000_000:
            taken += len(sock.recv(1 << 16))
    time.sleep(1)
    assert counter(service)[0] == n


def test_a_put_pipelined_behind_a_page_with_connection_close_never_runs(
    service: ServiceProcess,
) -> None:
    n, etag = counter(service)
    closing = GET_PAGE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    sock = stalled_connection(port_of(service), closing + put("/v1/small/counter", n + 1, etag))
    with sock:
        time.sleep(1)
        assert read_answers(sock, 1)[0][0] == 200
        sock.settimeout(5)
        assert sock.recv(1) == b"", "a request after Connection: close was answered"
    assert counter(service)[0] == n


@pytest.mark.parametrize("write", ["unrun", "refused"])
def test_a_write_that_applied_nothing_leaves_a_stalled_reader_cuttable(
    service: ServiceProcess, write: str
) -> None:
    """GET-only stalled readers are cut past the budget; these were not, and held it for 60 s.

    `unrun`: a PUT pipelined behind the page, never run while the page is
    not taken. `refused`: a PUT answered 412 (a stale If-Match), then the
    page. Neither applied anything: cutting the connection loses nothing.
    """
    port = port_of(service)
    n, _ = counter(service)
    stale = put("/v1/small/counter", n + 1, '"stale"')
    sockets = []
    try:
        for _ in range(STALLED):
            if write == "unrun":
                sock = stalled_connection(port, GET_PAGE + stale)
            else:
                sock = stalled_connection(port, stale)
                assert read_answers(sock, 1, fast=False)[0][0] == 412
                sock.sendall(GET_PAGE)
            sockets.append(sock)
            time.sleep(0.01)
        time.sleep(2)
        statuses = []
        with httpx.Client(base_url=service.url, timeout=30) as http:
            for _ in range(6):
                page = http.get(PAGE, headers={"Accept-Encoding": "identity"})
                statuses.append(page.status_code)
                if page.status_code == 200:
                    break
                time.sleep(float(page.headers["retry-after"]))
        established = sum(
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_ESTABLISHED
            for sock in sockets
        )
    finally:
        for sock in sockets:
            sock.close()
    print(f"{write}: {established} of {STALLED} still open; large GETs {statuses}")
    assert statuses[-1] == 200, f"large GETs refused for 6 s: {statuses}"
    assert counter(service)[0] == n
