"""Read-modify-write load: GET a random document, PUT it back with If-Match, on C connections.

A small HTTP/1.1 client on asyncio streams (keep-alive, Content-Length
bodies, which is how the service answers a document and a write), so that
the load generator costs a fraction of what the server does and each GET's
latency is timed on its own (wrk's Lua cannot time a single request).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Final

MAX_HEAD: Final = 64 * 1024


@dataclass(slots=True)
class Tally:
    """What one run saw, over all its connections."""

    writes: int = 0
    #: 412s: another connection wrote the document between the GET and the PUT.
    conflicts: int = 0
    #: Any other answer than 200 to a GET or to a PUT, and dropped connections.
    bad: int = 0
    seconds: float = 0.0
    get_latencies: list[float] = field(default_factory=list)

    @property
    def writes_per_second(self) -> float:
        return self.writes / self.seconds if self.seconds else 0.0

    def get_percentile(self, p: float) -> float:
        """The p-th percentile of the GETs' latencies, in ms (nearest rank)."""
        if not self.get_latencies:
            return float("nan")
        ordered = sorted(self.get_latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


async def _connection(
    host: str,
    port: int,
    prefix: str,
    count: int,
    deadline: float,
    tally: Tally,
    rng: random.Random,
) -> None:
    reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD)
    host_field = f"Host: {host}:{port}\r\n".encode()
    n = 0
    try:
        while time.perf_counter() < deadline:
            k = rng.randrange(count)
            path = f"{prefix}{k}".encode()
            began = time.perf_counter()
            writer.write(b"GET " + path + b" HTTP/1.1\r\n" + host_field + b"\r\n")
            status, headers, body = await _answer(reader)
            tally.get_latencies.append(time.perf_counter() - began)
            if status != 200:
                tally.bad += 1
                continue
            n += 1
            document = json.loads(body)
            document["write"] = document.get("write", 0) + 1
            document["by"] = n
            new = json.dumps(document, separators=(",", ":")).encode()
            writer.write(
                b"PUT " + path + b" HTTP/1.1\r\n" + host_field
                + b"Content-Type: application/json\r\nIf-Match: " + headers[b"etag"]
                + b"\r\nContent-Length: " + str(len(new)).encode() + b"\r\n\r\n" + new
            )  # fmt: skip
            status, _, _ = await _answer(reader)
            if status == 200:
                tally.writes += 1
            elif status == 412:
                tally.conflicts += 1
            else:
                tally.bad += 1
    except (OSError, asyncio.IncompleteReadError):
        tally.bad += 1
    finally:
        writer.close()


async def _run(
    host: str, port: int, prefix: str, count: int, connections: int, seconds: float, seed: int
) -> Tally:
    tally = Tally()
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(
        *(
            _connection(host, port, prefix, count, deadline, tally, random.Random(seed + c))
            for c in range(connections)
        )
    )
    tally.seconds = time.perf_counter() - began
    return tally


def read_modify_write(
    host: str,
    port: int,
    prefix: str,
    count: int,
    *,
    connections: int,
    seconds: float,
    seed: int = 0,
) -> Tally:
    """`connections` clients, each GETting `prefix` + a random k < `count` and PUTting it back."""
    try:
        import uvloop

        return uvloop.run(_run(host, port, prefix, count, connections, seconds, seed))
    except ImportError:  # pragma: no cover - uvloop comes with the service extra
        return asyncio.run(_run(host, port, prefix, count, connections, seconds, seed))
