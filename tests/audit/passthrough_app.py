"""An API whose catch-all handler passes the database's error through, in Mealie's shape.

Notes live in a real SQLite database through SQLAlchemy, with a unique
``email``. Any exception a handler raises is answered 400 with
``{"detail": {"message": "An unexpected error occurred", "exception":
str(error)}}``, as Mealie 2 answers a duplicate food name: SQLAlchemy's
IntegrityError, its SQL statement and parameters included. The rest is
plain CRUD (PUT replaces, DELETE deletes, no versions).

Run: ``PASSTHROUGH_DATABASE=notes.sqlite3 uvicorn tests.audit.passthrough_app:create_app
--factory``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app() -> Starlette:
    engine = sa.create_engine(f"sqlite:///{os.environ['PASSTHROUGH_DATABASE']}")
    metadata = sa.MetaData()
    notes = sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String, unique=True),
        sa.Column("doc", sa.String, nullable=False),
    )
    metadata.create_all(engine)

    def render(row: Any, status: int = 200) -> Response:
        return JSONResponse({**json.loads(row.doc), "id": row.id}, status)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def post(request: Request) -> Response:
        body = await request.json()
        with engine.begin() as db:
            row = db.execute(
                notes.insert()
                .values(email=body.get("email"), doc=json.dumps(body))
                .returning(notes.c.id, notes.c.doc)
            ).one()
        return render(row, 201)

    async def get(request: Request) -> Response:
        with engine.connect() as db:
            row = db.execute(sa.select(notes).where(notes.c.id == request.path_params["id"]))
            found = row.one_or_none()
        return JSONResponse({"detail": "not found"}, 404) if found is None else render(found)

    async def put(request: Request) -> Response:
        body = await request.json()
        with engine.begin() as db:
            where = notes.c.id == request.path_params["id"]
            db.execute(notes.update().where(where).values(doc=json.dumps(body)))
            found = db.execute(sa.select(notes).where(where)).one_or_none()
        return JSONResponse({"detail": "not found"}, 404) if found is None else render(found)

    async def delete(request: Request) -> Response:
        with engine.begin() as db:
            db.execute(notes.delete().where(notes.c.id == request.path_params["id"]))
        return Response(status_code=204)

    async def unexpected(request: Request, error: Exception) -> Response:
        detail = {"message": "An unexpected error occurred", "error": True}
        return JSONResponse({"detail": {**detail, "exception": str(error)}}, 400)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/notes", post, methods=["POST"]),
            Route("/notes/{id:int}", get, methods=["GET"]),
            Route("/notes/{id:int}", put, methods=["PUT"]),
            Route("/notes/{id:int}", delete, methods=["DELETE"]),
        ],
        exception_handlers={Exception: unexpected},
    )
