"""An API that changes an item with a POST to its URL, shaped like Redash's query snippets.

Redash's API is flask-restful resources: ``POST /api/query_snippets``
creates a snippet (200, the snippet), ``POST /api/query_snippets/<id>``
changes the members it names of ``trigger``, ``description`` and
``snippet`` and answers the snippet, ``DELETE`` deletes it (200, no
body); it takes no PUT or PATCH (405). No write checks a version, as
Redash's do not. The audit could change such an item no way (PUT and
PATCH only).

Run: ``uvicorn tests.audit.post_update_app:create_app --factory``.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.audit.envelope_app import json_object

#: The members a write may change; others are left as they are.
WRITABLE = ("trigger", "description", "snippet")


def create_app() -> Starlette:
    snippets: dict[int, dict[str, Any]] = {}
    serial = itertools.count(1)

    def now() -> str:
        return datetime.datetime.now(datetime.UTC).isoformat()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def collection(request: Request) -> Response:
        body = await json_object(request)
        if body is None or any(name not in body for name in WRITABLE):
            return JSONResponse({"message": "Missing field"}, 400)
        number = next(serial)
        snippets[number] = {
            "id": number,
            **{name: body[name] for name in WRITABLE},
            "created_at": now(),
            "updated_at": now(),
        }
        return JSONResponse(snippets[number])

    async def item(request: Request) -> Response:
        snippet = snippets.get(request.path_params["number"])
        if snippet is None:
            return JSONResponse({"message": "Couldn't find resource."}, 404)
        if request.method == "DELETE":
            del snippets[snippet["id"]]
            return Response(status_code=200)
        if request.method == "POST":
            changes = await json_object(request)
            if changes is None:
                return JSONResponse({"message": "Failed to decode JSON object"}, 400)
            snippet.update({k: v for k, v in changes.items() if k in WRITABLE}, updated_at=now())
        return JSONResponse(snippet)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/query_snippets", collection, methods=["POST"]),
            Route("/api/query_snippets/{number:int}", item, methods=["GET", "POST", "DELETE"]),
        ]
    )
