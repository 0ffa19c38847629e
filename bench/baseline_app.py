"""The baseline: a minimal FastAPI app, written the way a typical developer would.

`PUT /docs/{doc_id}` parses the JSON body into a dict, serialises it with
`json.dumps` and runs one unconditional ``UPDATE docs SET body=? WHERE id=?``
through the stdlib sqlite3 module, directly on the event loop (WAL,
synchronous=NORMAL, like the service's default store). No preconditions, no
ETag, no history: the floor the service's conditional PUT is compared with.

Run: ``BASELINE_DB=path.db uvicorn bench.baseline_app:app --no-access-log``
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Request

SCHEMA = "CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, body TEXT NOT NULL)"


def connect(path: str) -> sqlite3.Connection:
    """Open the database (WAL, synchronous=NORMAL) and create the table."""
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)
    db.commit()
    return db


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.db = connect(os.environ.get("BASELINE_DB", "baseline.db"))
    yield
    app.state.db.close()


app = FastAPI(lifespan=lifespan)


@app.put("/docs/{doc_id}")
async def put_doc(
    doc_id: str, doc: Annotated[dict[str, Any], Body()], request: Request
) -> dict[str, Any]:
    db: sqlite3.Connection = request.app.state.db
    cursor = db.execute("UPDATE docs SET body = ? WHERE id = ?", (json.dumps(doc), doc_id))
    db.commit()
    if cursor.rowcount == 0:
        raise HTTPException(status_code=404, detail="document not found")
    return doc
