"""An API that keeps each resource inside a member of its answers (an envelope), two ways.

``/api/v1/challenges`` has CTFd's shape: a flat JSON body in, an answer
``{"success": true, "data": {...}}`` out, PATCH to change. ``/api/articles``
has the RealWorld spec's (the FastAPI and Flask "realworld" example apps):
``{"article": {...}}`` both ways, the item named by its ``slug``, a PUT
that changes the members it is sent. Neither checks a version, as neither
app does. CTFd and the FastAPI RealWorld app showed that the audit could
not find the new item in such an answer (no ``id`` at its top): it stopped
at once and left the resource it had made behind.

Run: ``uvicorn tests.audit.envelope_app:create_app --factory``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def json_object(request: Request) -> dict[str, Any] | None:
    """The request's body as a JSON object; None when it is not one."""
    try:
        value = json.loads(await request.body())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def create_app() -> Starlette:
    challenges: dict[int, dict[str, Any]] = {}
    articles: dict[str, dict[str, Any]] = {}
    serial = itertools.count(1)

    body_of = json_object

    async def challenge_list(request: Request) -> Response:
        body = await body_of(request)
        if body is None:
            return JSONResponse({"success": False, "errors": {"body": "not JSON"}}, 400)
        item = {**body, "id": next(serial)}
        challenges[item["id"]] = item
        return JSONResponse({"success": True, "data": item})

    async def challenge(request: Request) -> Response:
        number = request.path_params["number"]
        if number not in challenges:
            return JSONResponse({"success": False, "message": "not found"}, 404)
        if request.method == "DELETE":
            del challenges[number]
            return JSONResponse({"success": True})
        if request.method == "PATCH":
            changes = await body_of(request)
            if changes is None:
                return JSONResponse({"success": False, "errors": {"body": "not JSON"}}, 400)
            challenges[number] = {**challenges[number], **changes, "id": number}
        return JSONResponse({"success": True, "data": challenges[number]})

    def article_in(body: dict[str, Any] | None) -> dict[str, Any] | None:
        inner = None if body is None else body.get("article")
        return inner if isinstance(inner, dict) else None

    async def article_list(request: Request) -> Response:
        fields = article_in(await body_of(request))
        if fields is None or not isinstance(fields.get("title"), str):
            return JSONResponse({"errors": {"article": ["is required"]}}, 422)
        slug = f"{fields['title'].lower().replace(' ', '-')}-{next(serial)}"
        articles[slug] = {**fields, "slug": slug}
        return JSONResponse({"article": articles[slug]}, 201)

    async def article(request: Request) -> Response:
        slug = request.path_params["slug"]
        if slug not in articles:
            return JSONResponse({"errors": {"article": ["not found"]}}, 404)
        if request.method == "DELETE":
            del articles[slug]
            return Response(status_code=204)
        if request.method == "PUT":
            fields = article_in(await body_of(request))
            if fields is None:
                return JSONResponse({"errors": {"article": ["is required"]}}, 422)
            articles[slug] = {**articles[slug], **fields, "slug": slug}
        return JSONResponse({"article": articles[slug]})

    async def healthz(request: Request) -> Response:
        return Response("ok")

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/v1/challenges", challenge_list, methods=["POST"]),
            Route("/api/v1/challenges/{number:int}", challenge, methods=["GET", "PATCH", "DELETE"]),
            Route("/api/articles", article_list, methods=["POST"]),
            Route("/api/articles/{slug}", article, methods=["GET", "PUT", "DELETE"]),
        ]
    )
