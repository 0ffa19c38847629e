"""Two real APIs' ways of taking writes, side by side: Kinto's records and Airflow's pools.

``/v1/records`` is shaped like Kinto's records: each answer keeps the
record in ``data`` (beside ``permissions``), a request sends it there
too, and the server stamps ``last_modified`` on every write, whose
value is the ETag. A PUT or DELETE naming another version in If-Match
gets 412; one naming none is applied. The check and the write are two
steps, as Kinto's are (a SELECT, then an UPDATE): the write waits
``CHECK_GAP`` seconds after the check, as a database round trip does, so
writers that read the same version all pass the check.

``/api/v2/pools`` is shaped like Airflow 3's pools: a POST creates
``name``, ``slots``, ``description`` and ``include_deferred`` (and the
server adds its read-only counts), a PUT is not allowed (405), and a
PATCH takes the whole writable object: a member missing, or one it does
not take (the read-only counts), gets 422 as pydantic words it
(``extra="forbid"``). No ETags, no version checked. A second pool with a
name already taken gets 409.

``/piccolo/items/`` answers a POST as PiccoloCRUD does, with a list of the
one row made (``[{"id": 1}]``); nothing is versioned. ``/datasette/notes``
refuses POST (405), and redirects a POST to ``/datasette/notes/`` back
without its slash, as a Datasette table does; its ``/-/insert`` answers
``{"ok": true, "rows": [...]}``. ``/slow/items`` reads an item in
``SLOW_READ`` seconds and deletes it at once. ``/broken/items`` makes,
reads and deletes items, and answers every change with a 500.
``/posts`` is shaped like microblog-api's: the server adds ``id``,
``author`` and ``timestamp``, and a PUT holding any member but ``text``
and ``n`` is a 400 (marshmallow's "Unknown field.").

Run: ``uvicorn tests.audit.shapes_app:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.audit.envelope_app import json_object

CHECK_GAP: Final = 0.05
#: How long a GET of ``/slow/items/{id}`` takes.
SLOW_READ: Final = 5.0
#: The members an Airflow pool's PATCH must hold, and the only ones it takes.
POOL_WRITABLE: Final = ("name", "slots", "description", "include_deferred")
POOL_COUNTS: Final = ("occupied_slots", "running_slots", "queued_slots", "open_slots")


def _refused(kind: str, name: str, message: str) -> Response:
    return JSONResponse({"detail": [{"type": kind, "loc": ["body", name], "msg": message}]}, 422)


def create_app() -> Starlette:
    records: dict[str, dict[str, Any]] = {}
    stamps = itertools.count(1_796_000_000_000)
    pools: dict[str, dict[str, Any]] = {}

    async def healthz(request: Request) -> Response:
        return JSONResponse(True)

    def record_answer(record: dict[str, Any], status: int = 200) -> Response:
        etag = f'"{record["last_modified"]}"'
        return JSONResponse({"data": record, "permissions": {}}, status, {"ETag": etag})

    def stale(request: Request, record: dict[str, Any]) -> Response | None:
        condition = request.headers.get("if-match")
        if condition is None or condition == f'"{record["last_modified"]}"':
            return None
        error = {"code": 412, "errno": 114, "error": "Precondition Failed"}
        return JSONResponse({**error, "message": "Resource was modified meanwhile"}, 412)

    async def record_collection(request: Request) -> Response:
        body = await json_object(request)
        data = None if body is None else body.get("data")
        if not isinstance(data, dict):
            return JSONResponse({"code": 400, "errno": 107, "error": "Invalid parameters"}, 400)
        record = {**data, "id": str(uuid.uuid4()), "last_modified": next(stamps)}
        records[record["id"]] = record
        return record_answer(record, 201)

    async def record_item(request: Request) -> Response:
        record = records.get(request.path_params["id"])
        if record is None:
            return JSONResponse({"code": 404, "errno": 110, "error": "Not Found"}, 404)
        if request.method == "GET":
            return record_answer(record)
        body = await json_object(request) if request.method == "PUT" else {}
        data = None if body is None else body.get("data", {})
        if not isinstance(data, dict):
            return JSONResponse({"code": 400, "errno": 107, "error": "Invalid parameters"}, 400)
        refusal = stale(request, record)
        if refusal is not None:
            return refusal
        await asyncio.sleep(CHECK_GAP)  # the check and the write are two statements
        if request.method == "DELETE":
            records.pop(record["id"], None)
            return JSONResponse({"data": {"id": record["id"], "deleted": True}})
        stored = {**data, "id": record["id"], "last_modified": next(stamps)}
        records[record["id"]] = stored
        return record_answer(stored)

    async def pool_collection(request: Request) -> Response:
        body = await json_object(request)
        if body is None or not isinstance(body.get("name"), str):
            return _refused("missing", "name", "Field required")
        if body["name"] in pools:
            return JSONResponse({"detail": f"Pool {body['name']!r} already exists"}, 409)
        pool = {"description": None, "include_deferred": False, **body}
        pools[body["name"]] = {**pool, **dict.fromkeys(POOL_COUNTS, 0)}
        return JSONResponse(pools[body["name"]], 201)

    async def pool_item(request: Request) -> Response:
        pool = pools.get(request.path_params["name"])
        if pool is None:
            return JSONResponse({"detail": "Pool not found"}, 404)
        if request.method == "GET":
            return JSONResponse(pool)
        if request.method == "DELETE":
            del pools[pool["name"]]
            return Response(status_code=204)
        if request.method != "PATCH":
            allow = {"Allow": "GET, PATCH, DELETE"}
            return JSONResponse({"detail": "Method Not Allowed"}, 405, allow)
        changes = await json_object(request)
        if changes is None:
            return _refused("json_invalid", "body", "JSON decode error")
        for name in changes:
            if name not in POOL_WRITABLE:
                return _refused("extra_forbidden", name, "Extra inputs are not permitted")
        for name in POOL_WRITABLE:
            if name not in changes:
                return _refused("missing", name, "Field required")
        pool.update(changes)
        return JSONResponse(pool)

    rows: dict[int, dict[str, Any]] = {}
    row_ids = itertools.count(1)

    async def crud_collection(request: Request) -> Response:
        """PiccoloCRUD's POST: 201 with a list of the one row made, ``[{"id": 1}]``."""
        body = await json_object(request)
        if body is None:
            return _refused("json_invalid", "body", "Invalid JSON")
        row = {**body, "id": next(row_ids)}
        rows[row["id"]] = row
        return JSONResponse([{"id": row["id"]}], status_code=201)

    async def crud_item(request: Request) -> Response:
        """No version anywhere: every write is applied."""
        key = int(request.path_params["id"])
        if key not in rows:
            return JSONResponse({"detail": "not found"}, status_code=404)
        if request.method == "DELETE":
            del rows[key]
            return Response(status_code=204)
        if request.method in ("PUT", "PATCH"):
            body = await json_object(request)
            if body is None:
                return _refused("json_invalid", "body", "Invalid JSON")
            base = rows[key] if request.method == "PATCH" else {}
            rows[key] = {**base, **body, "id": key}
        return JSONResponse(rows[key])

    async def no_post_here(request: Request) -> Response:
        """Datasette's table: POST is 405; with a slash, a redirect back without it."""
        if request.url.path.endswith("/"):
            return Response(status_code=302, headers={"Location": request.url.path[:-1]})
        return JSONResponse({"ok": False, "error": "Method not allowed"}, status_code=405)

    async def insert_rows(request: Request) -> Response:
        """Datasette's insert: the rows made in a list, beside ``"ok": true``."""
        body = await json_object(request) or {}
        return JSONResponse({"ok": True, "rows": [{**body, "rowid": 1}]}, status_code=201)

    slow: dict[int, dict[str, Any]] = {}

    async def slow_collection(request: Request) -> Response:
        row = {**(await json_object(request) or {}), "id": next(row_ids)}
        slow[row["id"]] = row
        return JSONResponse(row, status_code=201)

    async def slow_item(request: Request) -> Response:
        """A GET slower than any request timeout of the tests'; a DELETE at once."""
        key = int(request.path_params["id"])
        if request.method == "DELETE":
            return Response(status_code=204 if slow.pop(key, None) else 404)
        await asyncio.sleep(SLOW_READ)
        return JSONResponse(slow[key]) if key in slow else Response(status_code=404)

    async def slow_count(request: Request) -> Response:
        return JSONResponse({"left": len(slow)})

    posts: dict[int, dict[str, Any]] = {}

    def post_answer(post: dict[str, Any], status: int = 200) -> Response:
        return JSONResponse(post, status, {"ETag": f'"{post["version"]}"'})

    async def post_collection(request: Request) -> Response:
        body = await json_object(request) or {}
        key = next(row_ids)
        posts[key] = {**body, "id": key, "version": 1, "author": {"id": 1}, "timestamp": key}
        return post_answer(posts[key], 201)

    async def post_item(request: Request) -> Response:
        """microblog-api's posts: a PUT takes the writable members only (marshmallow: an
        unknown member is a 400); If-Match is checked when sent, in the write."""
        post = posts.get(int(request.path_params["id"]))
        if post is None:
            return JSONResponse({"code": 404}, 404)
        if request.method == "DELETE":
            del posts[post["id"]]
            return Response(status_code=204)
        if request.method == "PUT":
            body = await json_object(request) or {}
            unknown = {name: ["Unknown field."] for name in body if name not in ("text", "n")}
            if unknown:
                return JSONResponse({"code": 400, "messages": {"json": unknown}}, 400)
            condition = request.headers.get("if-match")
            if condition is not None and condition != f'"{post["version"]}"':
                return JSONResponse({"code": 412, "message": "Precondition Failed"}, 412)
            post.update(body, version=post["version"] + 1)
        return post_answer(post)

    broken: dict[int, dict[str, Any]] = {}

    async def broken_collection(request: Request) -> Response:
        row = {**(await json_object(request) or {}), "id": next(row_ids)}
        broken[row["id"]] = row
        return JSONResponse(row, status_code=201)

    async def broken_item(request: Request) -> Response:
        """Reads and deletes work; every change is a 500."""
        key = int(request.path_params["id"])
        if key not in broken:
            return Response(status_code=404)
        if request.method == "DELETE":
            del broken[key]
            return Response(status_code=204)
        if request.method != "GET":
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return JSONResponse(broken[key])

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/slow/items", slow_collection, methods=["POST"]),
            Route("/slow/items/{id:int}", slow_item, methods=["GET", "DELETE"]),
            Route("/slow/count", slow_count),
            Route("/posts", post_collection, methods=["POST"]),
            Route("/posts/{id:int}", post_item, methods=["GET", "PUT", "DELETE"]),
            Route("/broken/items", broken_collection, methods=["POST"]),
            Route("/broken/items/{id:int}", broken_item, methods=["GET", "PUT", "PATCH", "DELETE"]),
            Route("/piccolo/items/", crud_collection, methods=["POST"]),
            Route("/piccolo/items/{id:int}/", crud_item, methods=["GET", "PUT", "PATCH", "DELETE"]),
            Route("/datasette/notes", no_post_here, methods=["POST"]),
            Route("/datasette/notes/", no_post_here, methods=["POST"]),
            Route("/datasette/notes/-/insert", insert_rows, methods=["POST"]),
            Route("/v1/records", record_collection, methods=["POST"]),
            Route("/v1/records/{id}", record_item, methods=["GET", "PUT", "DELETE"]),
            Route("/api/v2/pools", pool_collection, methods=["POST"]),
            Route("/api/v2/pools/{name}", pool_item, methods=["GET", "PUT", "PATCH", "DELETE"]),
        ]
    )
