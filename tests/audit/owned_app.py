"""A user directory whose users may change only themselves, as many real APIs are.

Anyone may sign up: ``POST /users`` answers 201 with a Location. Reading
a user takes a token (401 without ``Authorization``, any token will do);
changing one (PUT, DELETE) takes that user's own token,
``Authorization: Bearer user-{id}``, else 403. So an audit that can
create its resources may still be refused every write, for who it is
and not for the version it names. ``GET /healthz`` answers 200.

Run: ``uvicorn tests.audit.owned_app:create_app --factory``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app() -> Starlette:
    users: dict[str, dict[str, Any]] = {}
    serial = itertools.count(1)

    def error(status: int, message: str) -> Response:
        return JSONResponse({"error": message}, status)

    def owner(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer user-{request.path_params['id']}"

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def sign_up(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "invalid JSON")
        if not isinstance(body, dict):
            return error(400, "not an object")
        user_id = str(next(serial))
        users[user_id] = {**body, "id": user_id}
        return JSONResponse(users[user_id], 201, {"Location": f"/users/{user_id}"})

    async def user(request: Request) -> Response:
        if "authorization" not in request.headers:
            return error(401, "a token is needed")
        found = users.get(request.path_params["id"])
        if found is None:
            return error(404, "no such user")
        if request.method == "GET":
            return JSONResponse(found)
        if not owner(request):
            return error(403, "users may change only themselves")
        if request.method == "DELETE":
            del users[request.path_params["id"]]
            return Response(status_code=204)
        body = json.loads(await request.body())
        users[found["id"]] = {**body, "id": found["id"]}
        return JSONResponse(users[found["id"]])

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/users", sign_up, methods=["POST"]),
            Route("/users/{id}", user, methods=["GET", "PUT", "DELETE"]),
        ]
    )
