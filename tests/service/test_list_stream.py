"""A streamed list answer: cut short when the database fails midway, dropped when its client goes.

The database fails for real: another connection renames the documents
table while the answer is on its way, and names it back afterwards. The
client has stopped reading by then, with a small receive buffer, so the
server is waiting with most of the page still unread.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, LiteralString, TypeVar

import httpx
import pytest

from httpconflict import Guard
from httpconflict._errors import Unavailable
from httpconflict.service.app import create_app
from httpconflict.service.config import ServiceConfig
from httpconflict.service.lists import FIRST_WINDOW, _batches, _document_id
from httpconflict.storage import Document
from httpconflict.storage.sqlite import SQLiteDocumentStore
from tests.problems import assert_problem
from tests.servers import ServiceProcess
from tests.service.test_list_memory import MB, fill

PAGE = "/v1/stream?limit=1000"
T = TypeVar("T")


@pytest.fixture(scope="module")
def filled(service: ServiceProcess) -> ServiceProcess:
    """40 documents of 1 MB: far more than the sockets between client and server hold."""
    fill(service, "stream", 40, MB)
    return service


@contextmanager
def table_renamed(service: ServiceProcess) -> Iterator[None]:
    """The documents table out of the service's reach until the block ends."""
    execute(service.db, "ALTER TABLE documents RENAME TO documents_away")
    try:
        yield
    finally:
        execute(service.db, "ALTER TABLE documents_away RENAME TO documents")


def execute(db: str, statement: LiteralString) -> None:
    """Run one statement on the service's database, from a connection of its own."""
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db, autocommit=True) as pg:
            pg.execute(statement)
        return
    lite = sqlite3.connect(db, isolation_level=None)
    try:
        lite.execute(statement)
    finally:
        lite.close()


def slow_reader(service: ServiceProcess) -> httpx.Client:
    """A client whose socket holds little, so a server writing to it soon has to wait.

    A fixed receive buffer turns off the kernel's autotuning, which would
    otherwise let a loopback socket take tens of megabytes unread. It takes
    answers as they are stored (not gzip-coded), so the bytes it reads are
    the page's own.
    """
    transport = httpx.HTTPTransport(
        socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)]
    )
    return httpx.Client(
        base_url=service.url,
        transport=transport,
        timeout=10,
        headers={"Accept-Encoding": "identity"},
    )


def log_text(service: ServiceProcess) -> str:
    return service.log_path.read_text()


def test_a_failure_midway_cuts_the_answer(filled: ServiceProcess) -> None:
    """The client gets an incomplete answer, never valid JSON; one log line; the server goes on."""
    with slow_reader(filled) as http, http.stream("GET", PAGE) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        received = [next(chunks)]
        time.sleep(0.5)  # the server fills the sockets, then waits for the client
        with table_renamed(filled), pytest.raises(httpx.RemoteProtocolError):
            received.extend(chunks)  # what came before the cut stays
    got = b"".join(received)
    assert got.startswith(b'{"items":[')
    assert MB < len(got) < 20 * MB
    with pytest.raises(json.JSONDecodeError):
        json.loads(got)
    [record] = filled.wait_for_log(lambda r: r["path"] == "/v1/stream")
    assert record["status"] == 200
    assert record["problem"] == "internal-error"
    log = log_text(filled)
    assert log.count("answer cut after") == 1
    assert "Traceback" not in log
    with filled.client() as http:
        assert http.get("/healthz").status_code == 200
        assert len(http.get(PAGE).json()["items"]) == 40


def test_a_client_gone_stops_the_reading(filled: ServiceProcess) -> None:
    """A client that leaves midway ends its answer: no further batch is read, nothing is logged."""
    log_before = log_text(filled).count("answer cut after")
    answers_before = len(filled.access_log())
    # The table goes while the server waits for the client: were the server
    # to read on once the client is gone, its next batch would fail, and
    # the log would say so.
    with ExitStack() as renamed:
        with slow_reader(filled) as http, http.stream("GET", PAGE) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()  # held: a dropped iterator closes the connection
            next(chunks)
            time.sleep(0.5)
            renamed.enter_context(table_renamed(filled))
        deadline = time.monotonic() + 5
        while len(filled.access_log()) == answers_before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    [record] = filled.access_log()[answers_before:]
    assert (record["path"], record["status"], record["problem"]) == ("/v1/stream", 200, None)
    assert log_text(filled).count("answer cut after") == log_before
    with filled.client() as http:
        assert http.get("/healthz").status_code == 200


def test_head_answers_the_header_fields_of_get(filled: ServiceProcess) -> None:
    """HEAD of a list answers GET's header fields (its Link too), with no body."""
    with filled.client() as http:
        get = http.get("/v1/stream?limit=3")
        head = http.head("/v1/stream?limit=3")
    assert head.status_code == 200
    assert head.content == b""
    assert (
        head.headers["Link"]
        == get.headers["Link"]
        == ('</v1/stream?limit=3&after=doc-0002>; rel="next"')
    )
    assert head.headers["Content-Type"] == get.headers["Content-Type"] == "application/json"


def test_batches_go_past_members_deleted_meanwhile(tmp_path: Path) -> None:
    """Members deleted after the page was chosen are skipped, a whole window of them too."""

    async def read_all() -> list[str]:
        store = SQLiteDocumentStore(tmp_path / "batches.db")
        await store.open()
        try:
            for n in range(100):
                await store.put("c", f"d{n:03}", b"{}", "e", Guard(exists=False), 1)
            ids = [m.id for m in await store.page_members("c", after=None, limit=1000)]
            for n in [*range(80), 90]:
                await store.delete("c", f"d{n:03}", Guard(exists=True), 2)

            def read(rest: Sequence[str]) -> Awaitable[list[Document]]:
                return store.documents("c", rest, max_bytes=10)

            return [d.id for b in [b async for b in _batches(ids, read, _document_id)] for d in b]
        finally:
            await store.close()

    expected = [f"d{n:03}" for n in range(80, 100) if n != 90]
    assert asyncio.run(read_all()) == expected


@pytest.mark.parametrize("coding", ["gzip", "identity"])
def test_a_failure_before_the_first_byte_is_a_503_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, coding: str
) -> None:
    """The database failing before any byte of a page is sent: 503 with Retry-After, never a 500.

    A page of small documents goes out in one write of about 64 KB, so the
    batches after the first are read before anything is sent. PostgreSQL
    failing there (a statement_timeout set tiny, then reset, while a
    service listed: 2 of some 60 pages) was answered behind gzip, which
    holds the start of an answer back until its body comes, by the
    server's bare 500 ("ASGI callable returned without starting
    response"), and without gzip by a 200 cut short. The window between
    two batch statements is microseconds wide, so the failure is put
    there: the store's batch read fails on its second call, as the
    database did.
    """
    with in_process(tmp_path / "docs.db") as (app, http, run):
        for n in range(3 * FIRST_WINDOW):
            made = run(http.put(f"/v1/small/{n:04}", json={"n": n}, headers={"If-None-Match": "*"}))
            assert made.status_code == 201, made.text
        store = app.state.store
        read = store.documents
        calls = 0

        async def failing_second(*args: object, **kwargs: object) -> object:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise Unavailable("the database failed the request")
            return await read(*args, **kwargs)

        monkeypatch.setattr(store, "documents", failing_second)
        answer = run(http.get("/v1/small?limit=1000", headers={"Accept-Encoding": coding}))
        assert calls == 2
        assert_problem(answer, 503, "unavailable")
        assert answer.headers["retry-after"] == "1"
        monkeypatch.undo()
        whole = run(http.get("/v1/small?limit=1000", headers={"Accept-Encoding": coding}))
        assert len(whole.json()["items"]) == 3 * FIRST_WINDOW


@contextmanager
def in_process(db: Path) -> Iterator[tuple[Any, httpx.AsyncClient, Callable[[Awaitable[T]], T]]]:
    """The service on `db` in this process: its app, a client, and a runner of its calls."""
    app = create_app(ServiceConfig(db=str(db)))
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://localhost")
    try:
        yield app, http, loop.run_until_complete
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
