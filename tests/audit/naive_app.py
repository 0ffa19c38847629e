"""A deliberately naive JSON API, the kind the audit exists to catch.

Documents live in a dict; ``POST /v1/{c}`` answers 201 with the document
and its ``id`` (no Location) and ignores Idempotency-Key; ``PUT`` replaces
whatever is there (blind writes, If-Match ignored); a second document with
an ``email`` already taken raises, as an unhandled IntegrityError would,
so the answer is a 500. With ``NAIVE_ETAGS=1`` a GET carries a strong ETag
computed from the content, which the app then ignores (If-None-Match and
If-Match alike); with ``NAIVE_ETAGS=0`` there are no ETags at all. Errors
are ``{"error": ...}`` as application/json, never problem+json.
``NAIVE_DELAY`` (seconds) slows every /v1 answer down, as a busy database would.
``NAIVE_SHORTCUT=1`` makes PUT and DELETE check If-Match (412 when it names
another ETag), except that a PUT whose body equals the stored document is
answered 200 first, without looking at If-Match: the content-equality
shortcut, which answers a concurrent identical write as "already applied".
``NAIVE_ISO_LAST_MODIFIED=1`` adds a Last-Modified written in ISO 8601, not
as an HTTP-date, as mealie sends it.

Run: ``uvicorn tests.audit.naive_app:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class DuplicateEmail(RuntimeError):
    """What an unhandled database unique violation looks like to the app."""


def create_app() -> Starlette:
    etags = os.environ.get("NAIVE_ETAGS", "1") == "1"
    delay = float(os.environ.get("NAIVE_DELAY", "0"))
    shortcut = os.environ.get("NAIVE_SHORTCUT", "0") == "1"
    iso_last_modified = os.environ.get("NAIVE_ISO_LAST_MODIFIED", "0") == "1"
    collections: dict[str, dict[str, dict[str, Any]]] = {}
    serial = iter(range(1, 1_000_000))

    def etag_of(doc: dict[str, Any]) -> str:
        return '"' + hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:20] + '"'

    def render(doc: dict[str, Any], status: int = 200) -> Response:
        headers = {"ETag": etag_of(doc)} if etags else {}
        if iso_last_modified:
            headers["Last-Modified"] = "2026-12-03T14:20:24.344401Z"
        return Response(json.dumps(doc).encode(), status, headers, media_type="application/json")

    def stale(request: Request, doc: dict[str, Any]) -> bool:
        """In shortcut mode: whether If-Match names another version than `doc`'s."""
        condition = request.headers.get("if-match")
        return shortcut and condition is not None and condition != etag_of(doc)

    def error(status: int, message: str) -> Response:
        return JSONResponse({"error": message}, status)

    async def body_of(request: Request) -> dict[str, Any] | None:
        await asyncio.sleep(delay)
        try:
            value = json.loads(await request.body())
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def post(request: Request) -> Response:
        docs = collections.setdefault(request.path_params["c"], {})
        body = await body_of(request)
        if body is None:
            return error(400, "invalid JSON")
        email = body.get("email")
        if email is not None and any(d.get("email") == email for d in docs.values()):
            raise DuplicateEmail(f"UNIQUE constraint failed: email = {email!r}")
        doc_id = str(next(serial))
        docs[doc_id] = {**body, "id": doc_id}
        return render(docs[doc_id], 201)

    async def get(request: Request) -> Response:
        await asyncio.sleep(delay)
        doc = collections.get(request.path_params["c"], {}).get(request.path_params["id"])
        return error(404, "not found") if doc is None else render(doc)

    async def put(request: Request) -> Response:
        docs = collections.get(request.path_params["c"], {})
        doc_id = request.path_params["id"]
        if doc_id not in docs:
            return error(404, "not found")
        body = await body_of(request)
        if body is None:
            return error(400, "invalid JSON")
        new = {**body, "id": doc_id}
        if shortcut and new == docs[doc_id]:
            return render(new)  # "already applied", judged by the content alone
        if stale(request, docs[doc_id]):
            return error(412, "stale If-Match")
        docs[doc_id] = new
        return render(new)

    async def delete(request: Request) -> Response:
        await asyncio.sleep(delay)
        docs = collections.get(request.path_params["c"], {})
        doc = docs.get(request.path_params["id"])
        if doc is None:
            return error(404, "not found")
        if stale(request, doc):
            return error(412, "stale If-Match")
        del docs[request.path_params["id"]]
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/v1/{c}", post, methods=["POST"]),
            Route("/v1/{c}/{id}", get, methods=["GET"]),
            Route("/v1/{c}/{id}", put, methods=["PUT"]),
            Route("/v1/{c}/{id}", delete, methods=["DELETE"]),
        ]
    )
