"""An API whose PATCH refuses members it does not take, shaped like Prefect's variables.

``/api/variables/`` answers a POST with 201 and the new variable (``id``,
``name``, ``value``, the server's ``created`` and ``updated``
timestamps); a PATCH of an item takes ``name`` and ``value`` only, sets
``updated`` and answers 204, and refuses any other member with 422 (as
Prefect's pydantic models with ``extra="forbid"`` do:
``{"type": "extra_forbidden", "loc": ["body", "updated"]}``); a DELETE
answers 204; a second variable with a name already taken gets 409. No
write checks a version, as Prefect's do not. ``updated`` changes on every
write the client did not make to it, so an audit may take it for a
version member: the 422 says the API takes no such member.

Run: ``uvicorn tests.audit.strict_patch_app:create_app --factory``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.audit.envelope_app import json_object

#: The members a PATCH may carry.
WRITABLE = frozenset({"name", "value"})


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def _refused(loc: list[str], kind: str, message: str) -> Response:
    detail = [{"type": kind, "loc": loc, "msg": message}]
    return JSONResponse(
        {"exception_message": "Invalid request received.", "exception_detail": detail}, 422
    )


def create_app() -> Starlette:
    variables: dict[str, dict[str, Any]] = {}

    async def healthz(request: Request) -> Response:
        return JSONResponse(True)

    async def collection(request: Request) -> Response:
        body = await json_object(request)
        if body is None or not isinstance(body.get("name"), str):
            return _refused(["body", "name"], "missing", "Field required")
        if any(v["name"] == body["name"] for v in variables.values()):
            taken = f"A variable with the name {body['name']!r} already exists"
            return JSONResponse({"detail": taken}, 409)
        now = _now()
        variable = {
            "id": str(uuid.uuid4()),
            "created": now,
            "updated": now,
            "name": body["name"],
            "value": body.get("value"),
            "tags": [],
        }
        variables[variable["id"]] = variable
        return JSONResponse(variable, 201)

    async def item(request: Request) -> Response:
        variable = variables.get(request.path_params["id"])
        if variable is None:
            return JSONResponse({"detail": "Variable not found"}, 404)
        if request.method == "GET":
            return JSONResponse(variable)
        if request.method == "DELETE":
            del variables[variable["id"]]
            return Response(status_code=204)
        changes = await json_object(request)
        if changes is None:
            return _refused(["body"], "json_invalid", "JSON decode error")
        for name in changes:
            if name not in WRITABLE:
                return _refused(["body", name], "extra_forbidden", "Extra inputs are not permitted")
        variable.update(changes, updated=_now())
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/variables/", collection, methods=["POST"]),
            Route("/api/variables/{id}", item, methods=["GET", "PATCH", "DELETE"]),
        ]
    )
