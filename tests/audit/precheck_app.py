"""An API that decides uniqueness with a SELECT before its INSERT, as many tutorials do.

Users live in a real SQLite file whose ``email`` column has a unique
index. A POST first looks for the email and refuses a duplicate it finds
with 400 "The user with this email already exists in the system" (the
FastAPI full-stack template's words); else it awaits (the round trip to
a database server, which lets other requests in) and inserts. Two POSTs
of one email that arrive together both find nothing, and the second's
INSERT raises the unique index's IntegrityError, which no handler
catches: 500. A duplicate sent after the first was answered is refused
cleanly. PUT replaces, DELETE deletes, no versions.

Run: ``PRECHECK_DATABASE=users.sqlite3 uvicorn tests.audit.precheck_app:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

#: The time between the look-up and the insert: a database server's round trip.
ROUND_TRIP = 0.05


def create_app() -> Starlette:
    path = os.environ["PRECHECK_DATABASE"]
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS users "
            "(id INTEGER PRIMARY KEY, email TEXT UNIQUE, doc TEXT NOT NULL)"
        )

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def post(request: Request) -> Response:
        body = await request.json()
        with connect() as db:
            found = db.execute("SELECT 1 FROM users WHERE email = ?", (body.get("email"),))
            if found.fetchone() is not None:
                detail = "The user with this email already exists in the system"
                return JSONResponse({"detail": detail}, 400)
        await asyncio.sleep(ROUND_TRIP)
        with connect() as db:
            cursor = db.execute(
                "INSERT INTO users (email, doc) VALUES (?, ?)",
                (body.get("email"), json.dumps(body)),
            )
        return JSONResponse({**body, "id": cursor.lastrowid}, 201)

    async def item(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        with connect() as db:
            if request.method == "DELETE":
                gone = db.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount
                return Response(status_code=204 if gone else 404)
            if request.method == "PUT":
                body = await request.json()
                db.execute(
                    "UPDATE users SET email = ?, doc = ? WHERE id = ?",
                    (body.get("email"), json.dumps(body), user_id),
                )
            row = db.execute("SELECT doc FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            return JSONResponse({"detail": "Not found"}, 404)
        return JSONResponse({**json.loads(row[0]), "id": int(user_id)})

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/users", post, methods=["POST"]),
            Route("/users/{user_id:int}", item, methods=["GET", "PUT", "DELETE"]),
        ]
    )
