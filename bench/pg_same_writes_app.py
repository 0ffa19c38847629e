"""A bare Starlette app making the service's writes by hand: the app's cost, the database's alike.

`PUT /docs/{doc_id}` with If-Match: reads and parses the body
(`json.loads`), computes a content ETag (SHA-256, as the service's), and
runs the statement the service runs for such a PUT on the service's own
tables (the schema is `httpconflict.storage.postgres.SCHEMA` and the
change feed's): the guarded ``UPDATE documents ... WHERE etag = If-Match``,
the history row, the prune of the version that falls out of a 100-version
history, and the change-feed row, in one data-modifying CTE with psycopg 3
on a psycopg_pool connection (autocommit). 200 with the new ETag, or 412
(no If-Match: 428). No problem details, no Last-Modified, no keys, no
refetch of what won: the database does what the service's does, the app
as little as a hand-written one would.

Run: ``BASELINE_PG=postgresql://... uvicorn bench.pg_same_writes_app:app --no-access-log``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Final

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .pg_baseline_app import lifespan

COLLECTION: Final = "docs"
STATEMENT: Final = """
WITH written AS (
    UPDATE documents SET version = version + 1, etag = %(etag)s, body = %(body)s,
        previous_us = modified_us, modified_us = %(now)s
    WHERE collection = %(c)s AND id = %(id)s AND etag = %(match)s AND etag <> %(etag)s
    RETURNING collection, id, version, etag, body, modified_us
), recorded AS (
    INSERT INTO document_versions (collection, id, version, etag, body, modified_us)
    SELECT collection, id, version, etag, body, modified_us FROM written
), pruned AS (
    DELETE FROM document_versions v USING written w
    WHERE v.collection = w.collection AND v.id = w.id AND v.version = w.version - 100
), changed AS (
    INSERT INTO changes (seq, collection, id, version, etag, modified_us)
    SELECT nextval('changes_seq'), collection, id, version, etag, modified_us FROM written
)
SELECT version FROM written
"""


def content_etag(body: bytes) -> str:
    """A strong ETag of the body's bytes: 128 bits of SHA-256, base64url, quoted."""
    digest = hashlib.sha256(body).digest()[:16]
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


async def put_doc(request: Request) -> Response:
    match = request.headers.get("if-match")
    if match is None:
        return JSONResponse({"detail": "If-Match required"}, status_code=428)
    raw = await request.body()
    doc = json.loads(raw)
    etag = content_etag(raw)
    pool: AsyncConnectionPool = request.app.state.pool
    params = {
        "c": COLLECTION,
        "id": request.path_params["doc_id"],
        "match": match,
        "etag": etag,
        "body": raw.decode(),
        "now": time.time_ns() // 1000,
    }
    async with pool.connection() as conn:
        rows = await (await conn.execute(STATEMENT, params)).fetchall()
    if not rows:
        return JSONResponse({"detail": "precondition failed"}, status_code=412)
    return JSONResponse(doc, headers={"ETag": etag})


app = Starlette(routes=[Route("/docs/{doc_id}", put_doc, methods=["PUT"])], lifespan=lifespan)
