"""A JSON:API that answers the audit with documents meant to break it.

Every answer (POST, GET, PATCH, DELETE) is a ``application/vnd.api+json``
200 or 201 whose body is chosen by ``HOSTILE_SHAPE``:

- ``deep``: ``{"data": {"data": ...`` nested 5,000 deep (45 KB);
- ``list``: ``data`` a list of resources;
- ``types``: every member of the wrong type (a numeric ``type`` and ``id``,
  ``attributes`` a string, ``meta`` a list);
- ``meta``: a resource whose ``meta`` holds 10 MB;
- ``endless``: a body that never ends (64 KB chunks, as fast as read);
- ``trickle``: a body that never ends, a byte every 0.2 s.

Run: ``HOSTILE_SHAPE=deep uvicorn tests.audit.jsonapi_hostile_app:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

MEDIA_TYPE = "application/vnd.api+json"
RESOURCE = {"type": "notes", "id": "1", "attributes": {"title": "x"}}


def _body(shape: str) -> bytes:
    if shape == "deep":
        return b'{"data": ' * 5_000 + b"1" + b"}" * 5_000
    if shape == "list":
        return json.dumps({"data": [RESOURCE, RESOURCE]}).encode()
    if shape == "types":
        data = {"type": 7, "id": 1, "attributes": "title", "meta": ["version", 1]}
        return json.dumps({"data": data}).encode()
    if shape == "meta":
        return json.dumps({"data": {**RESOURCE, "meta": {"pad": "x" * 10_000_000}}}).encode()
    raise ValueError(f"no shape {shape!r}")


async def _endless(request: Request) -> AsyncIterator[bytes]:
    yield b'{"data": {"type": "notes", "id": "1", "meta": {"pad": "' + b"x" * 65536
    # Endless to its reader; ends when it hangs up (a send to a closed
    # connection does not wait, and would keep the loop from shutting down).
    while not await request.is_disconnected():
        yield b"x" * 65536
        await asyncio.sleep(0)


async def _trickle(request: Request) -> AsyncIterator[bytes]:
    yield b'{"data": {"type": "notes", "id": "1", "meta": {"pad": "'
    while not await request.is_disconnected():
        yield b"x"
        await asyncio.sleep(0.2)


def create_app() -> Starlette:
    shape = os.environ["HOSTILE_SHAPE"]
    streams = {"endless": _endless, "trickle": _trickle}
    body = b"" if shape in streams else _body(shape)

    async def answer(request: Request) -> Response:
        await request.body()
        headers = {"ETag": '"v1"', "Location": "/notes/1"}
        status = 201 if request.method == "POST" else 200
        if shape in streams:
            stream = streams[shape](request)
            return StreamingResponse(stream, status, headers, media_type=MEDIA_TYPE)
        return Response(body, status, headers, media_type=MEDIA_TYPE)

    async def healthz(request: Request) -> Response:
        return Response("ok")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/notes", answer, methods=methods),
            Route("/notes/{key}", answer, methods=methods),
        ]
    )
