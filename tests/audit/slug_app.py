"""RealWorld articles whose unique slug is made from the title, answered by httpconflict.

The FastAPI RealWorld app's shape (nsidnev/fastapi-realworld-example-app,
adopted): ``POST /api/articles`` with ``{"article": {"title": ...}}``
stores the article under ``slug``, the title lower-cased and hyphenated,
which a unique index on a real SQLite file holds; a second article with
the same title is the index's 409 problem, whose ``conflicts`` name
``slug``, never ``title``. GET, PUT (changing the members sent) and
DELETE by slug, without versions.

Run: ``SLUG_DATABASE=articles.sqlite3 uvicorn tests.audit.slug_app:create_app --factory``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from httpconflict import InvalidDocument, NotFound, parse_json_object
from httpconflict.starlette import install


def create_app() -> Starlette:
    path = os.environ["SLUG_DATABASE"]
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS articles (slug TEXT UNIQUE NOT NULL, doc TEXT)")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None)

    async def article_in(request: Request) -> dict[str, Any]:
        inner = parse_json_object(await request.body()).get("article")
        if not isinstance(inner, dict) or not isinstance(inner.get("title", ""), str):
            raise InvalidDocument("the body needs 'article', an object with a string 'title'")
        return inner

    def found(db: sqlite3.Connection, slug: str) -> dict[str, Any]:
        row = db.execute("SELECT doc FROM articles WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise NotFound(f"there is no article {slug}")
        doc: dict[str, Any] = json.loads(row[0])
        return doc

    async def article_list(request: Request) -> Response:
        fields = await article_in(request)
        slug = str(fields.get("title", "")).lower().replace(" ", "-")
        doc = {**fields, "slug": slug}
        with connect() as db:  # a taken slug: the unique index's 409, naming "slug"
            db.execute("INSERT INTO articles VALUES (?, ?)", (slug, json.dumps(doc)))
        return JSONResponse({"article": doc}, 201)

    async def article(request: Request) -> Response:
        slug = request.path_params["slug"]
        with connect() as db:
            doc = found(db, slug)
            if request.method == "DELETE":
                db.execute("DELETE FROM articles WHERE slug = ?", (slug,))
                return Response(status_code=204)
            if request.method == "PUT":
                doc = {**doc, **await article_in(request), "slug": slug}
                db.execute("UPDATE articles SET doc = ? WHERE slug = ?", (json.dumps(doc), slug))
        return JSONResponse({"article": doc})

    async def healthz(request: Request) -> Response:
        return Response("ok")

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/articles", article_list, methods=["POST"]),
            Route("/api/articles/{slug}", article, methods=["GET", "PUT", "DELETE"]),
        ]
    )
    install(app)
    return app
