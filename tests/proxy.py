"""A TCP proxy that loses answers after the server has written them.

Theory of operation: each client connection gets its own connection to the
server, and the proxy passes request/answer pairs along it one at a time
(HTTP/1.1 keep-alive, no pipelining). It reads each request whole and sends
it on, then reads the server's answer whole, framed as RFC 9112 §6.3 says
(no body for HEAD, 1xx, 204 and 304; else chunked, Content-Length, or up to
the server's close). Only then does it decide, with a seeded random number,
whether the answer is lost: if so it closes both connections without
sending a byte of it, so the client sees the connection drop although the
server did whatever the request asked (wrote, and recorded the answer under
the request's Idempotency-Key). Otherwise it forwards the answer.

Every answer the server gave is tallied, forwarded or dropped, with its
request's method, status, Idempotency-Key and whether it was replayed
(``Idempotent-Replayed: true``): so a test knows exactly which writes the
server applied, including those whose answers no client ever saw.

The proxy runs an asyncio loop in a thread of its own; `lossy_proxy` starts
it and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

#: Methods whose successful, not replayed, answer means the server changed the resource.
WRITES: Final = frozenset({"PUT", "PATCH", "DELETE", "POST"})
#: The largest head (start line and header fields) the proxy reads.
MAX_HEAD: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the answer the server gave it."""

    method: str
    path: str
    status: int
    #: The request's Idempotency-Key field value, as sent.
    key: str | None
    #: The answer was replayed from the key (``Idempotent-Replayed: true``).
    replayed: bool
    #: The answer never reached the client.
    dropped: bool
    #: The answer's Content-Type and Retry-After field values, if any.
    content_type: str | None = None
    retry_after: str | None = None

    @property
    def applied(self) -> bool:
        """Whether the server applied a write here (a 2xx to a write, not a replay)."""
        return self.method in WRITES and 200 <= self.status < 300 and not self.replayed


@dataclass
class Tally:
    """Everything the proxy passed on or lost; safe to read while it runs."""

    exchanges: list[Exchange] = field(default_factory=list)
    #: Client connections accepted.
    connections: int = 0
    #: Connections opened to the server.
    upstream_connections: int = 0
    #: Requests sent on whose answer never came whole (the server closed).
    unanswered: int = 0
    #: Anything else that went wrong, as repr() of the exception.
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.errors.append(repr(error))

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)

    def forwarded(self) -> Counter[tuple[str, int]]:
        """Answers forwarded, by (method, status)."""
        return Counter((e.method, e.status) for e in self.snapshot() if not e.dropped)

    def dropped(self) -> Counter[tuple[str, int]]:
        """Answers dropped, by (method, status)."""
        return Counter((e.method, e.status) for e in self.snapshot() if e.dropped)

    def replays(self) -> int:
        """Answers replayed from an Idempotency-Key."""
        return sum(e.replayed for e in self.snapshot())

    def applied(self, methods: Iterable[str] = WRITES) -> Counter[str | None]:
        """Writes the server applied, by Idempotency-Key (None: sent without one)."""
        wanted = frozenset(methods)
        return Counter(e.key for e in self.snapshot() if e.applied and e.method in wanted)


def draws(seed: int, method: str) -> random.Random:
    """The random stream that decides which answers to `method` a proxy seeded `seed` loses."""
    return random.Random(f"{seed}:{method}")


class _Closed(Exception):
    """The peer closed the connection between messages."""


@dataclass(frozen=True, slots=True)
class _Head:
    raw: bytes
    start: str
    fields: dict[str, str]

    @classmethod
    def parse(cls, raw: bytes) -> _Head:
        lines = raw.decode("latin-1").split("\r\n")
        fields: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                value = value.strip()
                # RFC 9110 §5.3: repeated fields combine into one list.
                fields[name] = f"{fields[name]}, {value}" if name in fields else value
        return cls(raw, lines[0], fields)

    def closes(self) -> bool:
        return "close" in self.fields.get("connection", "").lower()


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            raise _Closed from error
        raise
    return _Head.parse(raw)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body, as it came (RFC 9112 §7.1), trailers included."""
    parts = []
    while True:
        line = await reader.readuntil(b"\r\n")
        parts.append(line)
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:
                trailer = await reader.readuntil(b"\r\n")
                parts.append(trailer)
                if trailer == b"\r\n":
                    return b"".join(parts)
        parts.append(await reader.readexactly(size + 2))


async def _read_body(reader: asyncio.StreamReader, head: _Head, *, to_close: bool) -> bytes:
    """The body after `head` (RFC 9112 §6.3); `to_close`: read up to EOF when unframed."""
    if "chunked" in head.fields.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    length = head.fields.get("content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    return await reader.read() if to_close else b""


class LossyProxy:
    """A proxy to `upstream` (host, port) that drops each answer with probability `drop`.

    Only answers to `methods` are ever dropped (every method by default).
    Each method has its own random stream, seeded from `seed` and its name,
    drawn from in the order its answers arrive: whether the k-th answer to
    a PATCH is lost depends on the seed alone, not on how many GETs came
    between, so the share of answers lost to each method is the same in
    every run that has as many of them.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        drop: float = 0.05,
        seed: int = 0,
        methods: Iterable[str] | None = None,
    ) -> None:
        if not 0 <= drop <= 1:
            raise ValueError(f"drop is a probability, not {drop}")
        self.upstream = upstream
        self.drop = drop
        self.methods = frozenset(methods) if methods is not None else None
        self.tally = Tally()
        self.seed = seed
        self._random: dict[str, random.Random] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lossy-proxy", daemon=True)
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.url = ""

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)
        if self._failure is not None:
            raise RuntimeError("the proxy did not start") from self._failure
        if not self.url:
            raise RuntimeError("the proxy did not start within 10 s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the thread that started the proxy
            self._failure = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for writer in self._connections.values():
                writer.close()
            if self._connections:
                await asyncio.wait(list(self._connections), timeout=5)

    def _lose(self, method: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        stream = self._random.get(method)
        if stream is None:
            stream = self._random[method] = draws(self.seed, method)
        return stream.random() < self.drop

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.tally.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = client_writer
        upstream = _Upstream(self.upstream, self.tally)
        try:
            while await self._pass_one(client_reader, client_writer, upstream):
                pass
        except _Closed:
            pass
        except Exception as error:  # the test looks at tally.errors
            self.tally.failed(error)
        finally:
            del self._connections[task]
            client_writer.close()
            with contextlib.suppress(OSError):
                await client_writer.wait_closed()
            await upstream.close()

    async def _pass_one(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream: _Upstream,
    ) -> bool:
        """Pass one request on and its answer back (or lose it); whether to go on."""
        request = await _read_head(client_reader)
        body = await _read_body(client_reader, request, to_close=False)
        upstream_reader = await upstream.send(request.raw + body)
        method, path, *_ = request.start.split(" ")
        try:
            answer = await _read_head(upstream_reader)
            status = int(answer.start.split(" ")[1])
            if 100 <= status < 200:
                raise ValueError(f"the proxy does not pass interim answers on ({answer.start})")
            empty = method == "HEAD" or status in (204, 304)
            answer_body = b"" if empty else await _read_body(upstream_reader, answer, to_close=True)
        except (_Closed, OSError, asyncio.IncompleteReadError) as error:
            self.tally.unanswered += 1
            raise _Closed from error
        dropped = self._lose(method)
        self.tally.add(
            Exchange(
                method=method,
                path=path,
                status=status,
                key=request.fields.get("idempotency-key"),
                replayed=answer.fields.get("idempotent-replayed", "").lower() == "true",
                dropped=dropped,
                content_type=answer.fields.get("content-type"),
                retry_after=answer.fields.get("retry-after"),
            )
        )
        if dropped:
            return False
        client_writer.write(answer.raw + answer_body)
        await client_writer.drain()
        return not (request.closes() or answer.closes())


class _Upstream:
    """The server's side of one client connection, opened for the first request.

    RFC 9112 §9.6 lets a server close a connection it holds idle (uvicorn
    does after 5 s): a request that comes after that goes on a new one, as
    none of it was sent on the closed one.
    """

    def __init__(self, address: tuple[str, int], tally: Tally) -> None:
        self.address = address
        self.tally = tally
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, message: bytes) -> asyncio.StreamReader:
        """Send `message` (a whole request); the stream its answer comes on."""
        if self.reader is None or self.writer is None or self.reader.at_eof():
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(*self.address, limit=MAX_HEAD)
            self.tally.upstream_connections += 1
        self.writer.write(message)
        await self.writer.drain()
        return self.reader

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


@contextmanager
def lossy_proxy(
    upstream_url: str,
    *,
    drop: float = 0.05,
    seed: int = 0,
    methods: Iterable[str] | None = None,
) -> Iterator[LossyProxy]:
    """A `LossyProxy` to the server at `upstream_url`, running until the block ends."""
    parts = urlsplit(upstream_url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"need a URL with a host and a port, not {upstream_url!r}")
    proxy = LossyProxy((parts.hostname, parts.port), drop=drop, seed=seed, methods=methods)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
