"""If-Match PUTs called straight into the service's ASGI app: its own CPU per request.

No network, no server loop, no load generator: `time.process_time` over
`n` PUTs of one document, each with the ETag the last one returned. On a
shared machine this drifts far less than req/s through wrk does, and it
measures the app alone (what authentication adds to it, for one).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, MutableMapping
from typing import Any

from starlette.applications import Starlette

Headers = list[tuple[bytes, bytes]]


def _scope(headers: Headers) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/v1/bench/asgi",
        "raw_path": b"/v1/bench/asgi",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _put(app: Starlette, headers: Headers, body: bytes) -> tuple[int, bytes]:
    """One PUT: its status and ETag."""
    answer: dict[str, Any] = {}

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["etag"] = dict(message["headers"]).get(b"etag", b"")

    await app(_scope(headers), receive, send)
    return answer["status"], answer["etag"]


async def cpu_per_put(app: Starlette, credential: Headers, n: int) -> AsyncGenerator[float]:
    """Rounds of `n` If-Match PUTs, each round's app CPU µs per PUT (runs the app's lifespan)."""
    async with app.router.lifespan_context(app):
        status, etag = await _put(app, [*credential, (b"if-none-match", b"*")], b'{"n":0}')
        if status != 201:
            raise RuntimeError(f"creating the document: {status}")
        filler = "x" * 64
        while True:
            started = time.process_time()
            for k in range(n):
                body = json.dumps({"title": "benchmark document", "write": k, "filler": filler})
                status, etag = await _put(app, [*credential, (b"if-match", etag)], body.encode())
                if status != 200:
                    raise RuntimeError(f"PUT answered {status}")
            yield (time.process_time() - started) / n * 1e6
