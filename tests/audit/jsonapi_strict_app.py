"""A JSON:API that keeps every update: strong ETags, If-Match required on each write.

Resources live in a dict, each with a version; its ETag is ``"v<version>"``.
A PATCH or DELETE without If-Match is a 428, with a stale one a 412, both
RFC 9457 problems; the check and the write happen with no await between
them, so on one event loop they are one step. A POST's Idempotency-Key is
recorded with its payload: the same key replays the first answer, with
another payload it is a 422. Run:
``uvicorn tests.audit.jsonapi_strict_app:create_app --factory``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MEDIA_TYPE = "application/vnd.api+json"


def _problem(status: int, title: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    return JSONResponse(body, status, media_type="application/problem+json")


def _answer(status: int, kind: str, key: str, note: dict[str, Any]) -> Response:
    data = {"type": kind, "id": key, "attributes": note["attributes"]}
    headers = {"ETag": f'"v{note["version"]}"', "Location": f"/notes/{key}"}
    return Response(json.dumps({"data": data}), status, headers, media_type=MEDIA_TYPE)


def create_app() -> Starlette:
    notes: dict[str, dict[str, Any]] = {}
    keys: dict[str, tuple[bytes, Response]] = {}
    serial = itertools.count(1)

    async def collection(request: Request) -> Response:
        body = await request.body()
        key = request.headers.get("idempotency-key")
        if key is not None and key in keys:
            payload, first = keys[key]
            if payload != body:
                return _problem(422, "Idempotency-Key reused with another payload")
            return first
        data = json.loads(body)["data"]
        new = str(next(serial))
        notes[new] = {"attributes": dict(data.get("attributes", {})), "version": 1}
        answer = _answer(201, data["type"], new, notes[new])
        if key is not None:
            keys[key] = (body, answer)
        return answer

    async def item(request: Request) -> Response:
        key = request.path_params["key"]
        # The body is read first: an await between the check and the write would race.
        body = await request.body() if request.method == "PATCH" else b""
        note = notes.get(key)
        if note is None:
            return _problem(404, "No such note")
        etag = f'"v{note["version"]}"'
        if request.method == "GET":
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return _answer(200, "notes", key, note)
        if_match = request.headers.get("if-match")
        if if_match is None:
            return _problem(428, "Send If-Match with the ETag you read")
        if if_match != etag:
            return _problem(412, "The note changed since you read it")
        if request.method == "DELETE":
            del notes[key]
            return Response(status_code=204)
        note["attributes"].update(json.loads(body)["data"].get("attributes", {}))
        note["version"] += 1
        return _answer(200, "notes", key, note)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/notes", collection, methods=["POST"]),
            Route("/notes/{key}", item, methods=["GET", "PATCH", "DELETE"]),
        ]
    )
