"""The PostgreSQL baseline: a bare Starlette app doing one unconditional UPDATE.

`PUT /docs/{doc_id}` reads the body, parses it (`json.loads`), serialises it
again (`json.dumps`) and runs ``UPDATE docs SET body = $1 WHERE id = $2``
with psycopg 3 on a connection of a psycopg_pool `AsyncConnectionPool`
(autocommit: one round trip, as the service's statements are), then answers
the document as JSON. No precondition, no ETag, no history: the floor the
service's conditional PUT on PostgreSQL is compared with.

`fastapi_app` is the same with FastAPI, written as bench/baseline_app.py is
(the body a ``dict`` ``Body()`` parameter): what a typical FastAPI
developer would write.

Run: ``BASELINE_PG=postgresql://... uvicorn bench.pg_baseline_app:app --no-access-log``
(``BASELINE_POOL_MIN`` / ``BASELINE_POOL_MAX``: the pool's size, 2 and 10 by
default, as the service's document store).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

from fastapi import Body, FastAPI, HTTPException
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCHEMA: Final = "CREATE TABLE IF NOT EXISTS docs (id text PRIMARY KEY, body text NOT NULL)"


@asynccontextmanager
async def lifespan(app: Starlette | FastAPI) -> AsyncIterator[None]:
    pool = AsyncConnectionPool(
        os.environ["BASELINE_PG"],
        min_size=int(os.environ.get("BASELINE_POOL_MIN", "2")),
        max_size=int(os.environ.get("BASELINE_POOL_MAX", "10")),
        kwargs={"autocommit": True},
        open=False,
    )
    await pool.open(wait=True)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


async def put_doc(request: Request) -> Response:
    doc = json.loads(await request.body())
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "UPDATE docs SET body = %s WHERE id = %s",
            (json.dumps(doc), request.path_params["doc_id"]),
        )
    if cursor.rowcount == 0:
        return JSONResponse({"detail": "document not found"}, status_code=404)
    return JSONResponse(doc)


app = Starlette(routes=[Route("/docs/{doc_id}", put_doc, methods=["PUT"])], lifespan=lifespan)

fastapi_app = FastAPI(lifespan=lifespan)


@fastapi_app.put("/docs/{doc_id}")
async def fastapi_put_doc(
    doc_id: str, doc: Annotated[dict[str, Any], Body()], request: Request
) -> dict[str, Any]:
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "UPDATE docs SET body = %s WHERE id = %s", (json.dumps(doc), doc_id)
        )
    if cursor.rowcount == 0:
        raise HTTPException(status_code=404, detail="document not found")
    return doc
