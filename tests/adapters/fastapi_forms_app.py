"""A FastAPI app whose counters are edited with HTML forms: SQLAlchemy, form keys, uvicorn.

Run as a server process (``start_app("tests.adapters.fastapi_forms_app:create_app", ...)``)
on ``FORMS_DATABASE`` (a SQLAlchemy URL), with the form keys in the SQLite file
``FORMS_KEYS``. A browser's form cannot send If-Match, so the edit form carries the
version it was opened on in a hidden field, and its save is `versioned_update` with that
version as the If-Match: a stale save is the 412 that `install` answers, nothing written.
Each form also carries a key (``idempotency_key``, `new_form_key`) that the
`IdempotencyMiddleware` reads, so a double-clicked Save runs once.

- ``GET/POST /counters/new``: the add form; saved, a 303 to the counter's edit page;
- ``GET/POST /counters/{id}/edit``: the edit form; saved, a 303 back to it. A counter whose
  name starts with ``slow`` takes `SLOW` seconds to save (a double click's second
  request comes while the first runs); one whose name starts with ``bug`` raises
  (`BUG`) before its commit, an app's bug;
- ``GET /counters/{id}``: ``{"count": n}``, read from the database;
- ``GET /healthz``: touches no database.

Answers of `GZIP_FROM` bytes or more are gzip-coded by Starlette's `GZipMiddleware`,
inside the keys' middleware. The pool pings a connection before lending it
(``pool_pre_ping``), so a database that went away refuses the save (503, nothing
applied) instead of failing it on a connection that broke while idle.
"""

import os
import time
from html import escape
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.orm import Session

from httpconflict import Conditions, NotFound
from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, new_form_key
from httpconflict.sqlalchemy import versioned_update
from httpconflict.storage.idempotency import idempotency_store

#: Seconds a ``slow...`` counter's save takes.
SLOW = 0.5
#: The text of the error a ``bug...`` counter's save raises: no answer may show it.
BUG = "a bug in the save, with a secret in its text: sk_live_forms"
#: Bytes from which an answer is sent gzip-coded (to a client that takes gzip).
GZIP_FROM = 100

metadata = MetaData()
counters = Table(
    "fastapi_form_counters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("count", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><form method="post">
<input type="hidden" name="idempotency_key" value="{key}">
<input type="hidden" name="version" value="{version}">
<label>Name <input name="name" value="{name}"></label>
<label>Count <input name="count" value="{count}"></label>
<button>Save</button></form></body></html>"""


def _page(title: str, *, name: str = "", count: int = 0, version: int = 0) -> str:
    return PAGE.format(
        title=escape(title),
        key=new_form_key(),
        version=version,
        name=escape(name),
        count=count,
    )


def create_app() -> Any:
    # Imported here, and no `from __future__ import annotations`: FastAPI reads the
    # annotations of the handlers as objects.
    from fastapi import FastAPI, Form
    from fastapi.responses import HTMLResponse, RedirectResponse
    from starlette.middleware.gzip import GZipMiddleware

    from httpconflict.fastapi import install

    url = os.environ["FORMS_DATABASE"]
    connect: dict[str, Any] = {"timeout": 30} if url.startswith("sqlite") else {}
    engine = create_engine(url, connect_args=connect, pool_pre_ping=True)
    metadata.create_all(engine)
    app = FastAPI()
    install(app)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/counters/new", response_class=HTMLResponse)
    def add_form() -> str:
        return _page("New counter")

    @app.post("/counters/new")
    def add(name: str = Form(), count: int = Form()) -> RedirectResponse:
        with Session(engine) as session:
            added = insert(counters).values(name=name, count=count, version=1)
            number = session.execute(added.returning(counters.c.id)).scalar_one()
            session.commit()
        return RedirectResponse(f"/counters/{number}/edit", 303)

    def _row(session: Session, number: int) -> Any:
        row = session.execute(select(counters).where(counters.c.id == number)).first()
        if row is None:
            raise NotFound(f"there is no counter {number}")
        return row

    @app.get("/counters/{number}/edit", response_class=HTMLResponse)
    def edit_form(number: int) -> str:
        with Session(engine) as session:
            row = _row(session, number)
        return _page(row.name, name=row.name, count=row.count, version=row.version)

    @app.post("/counters/{number}/edit")
    def edit(
        number: int, name: str = Form(), count: int = Form(), version: int = Form()
    ) -> RedirectResponse:
        opened = Conditions.from_headers({"if-match": f'"{version}"'})
        with Session(engine) as session:
            values = {"name": name, "count": count}
            versioned_update(session, counters, number, values, opened)
            if name.startswith("bug"):
                raise RuntimeError(BUG)  # before the commit: rolled back
            if name.startswith("slow"):
                time.sleep(SLOW)
            session.commit()
        return RedirectResponse(f"/counters/{number}/edit", 303)

    @app.get("/counters/{number}")
    def read(number: int) -> dict[str, int]:
        with Session(engine) as session:
            return {"count": _row(session, number).count}

    # Inside the keys' middleware, as an app that adds compression first has it: a problem
    # reaches that middleware gzip-coded (the smallest is 190 bytes), and its page is read
    # from those bytes.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_FROM)
    policy = IdempotencyPolicy(form_field="idempotency_key")
    keys = idempotency_store(os.environ["FORMS_KEYS"])
    app.add_middleware(IdempotencyMiddleware, store=keys, policy=policy)
    return app
