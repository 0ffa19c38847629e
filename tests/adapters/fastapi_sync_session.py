"""`fastapi_session_dependency`'s app with a sync ``Session``, a sync ``yield`` dependency and
sync views (FastAPI runs each in its thread pool), on PostgreSQL through psycopg.

The same routes, those the tests ask for: ``GET /count``, ``POST /increment``,
``GET /count-then-end``, ``POST /increment-then-end``, ``POST /names``, ``GET /counter``,
``PUT /counter``, ``GET /healthz``.
"""

# (No `from __future__ import annotations`: FastAPI reads the views' annotations.)
from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Response
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware import Middleware

import httpconflict.sqlalchemy  # noqa: F401  # the hooks that count commits
from httpconflict.asgi.idempotency import IdempotencyMiddleware
from httpconflict.fastapi import Preconditions, install
from httpconflict.sqlalchemy import version_etag, versioned_update
from httpconflict.storage.idempotency import idempotency_store
from tests.adapters.fastapi_session_dependency import (
    TABLE,
    CounterIn,
    counters,
    session_dependency,
)


def create_sync_app(url: str, *, commit_in_exit: bool, scope: str, keys_inside: bool) -> FastAPI:
    """The app on the PostgreSQL database at `url` (whose tables `prepare` made)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    sessions = sessionmaker(engine, expire_on_commit=False)
    keys = Middleware(IdempotencyMiddleware, store=idempotency_store("memory"))
    app = FastAPI(middleware=[keys] if keys_inside else None)
    install(app)
    if not keys_inside:
        app.add_middleware(keys.cls, *keys.args, **keys.kwargs)

    def session() -> Iterator[Session]:
        with sessions() as db:
            if commit_in_exit:
                with db.begin():
                    yield db
            else:
                yield db

    DB = Annotated[Session, session_dependency(session, scope)]

    def end_own_connection(db: Session) -> None:
        pid = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    def increment(db: Session) -> dict[str, Any]:
        db.execute(text(f"UPDATE {TABLE} SET count = count + 1 WHERE id = 1"))
        if not commit_in_exit:
            db.commit()
        return {"count": db.scalar(text(f"SELECT count FROM {TABLE} WHERE id = 1"))}

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/count")
    def count(db: DB) -> dict[str, Any]:
        return {"count": db.scalar(text(f"SELECT count FROM {TABLE} WHERE id = 1"))}

    @app.get("/count-then-end")
    def count_then_end(db: DB) -> dict[str, Any]:
        answer = count(db)
        end_own_connection(db)
        return answer

    @app.post("/increment")
    def post_increment(db: DB) -> dict[str, Any]:
        return increment(db)

    @app.post("/increment-then-end")
    def increment_then_end(db: DB) -> dict[str, Any]:
        answer = increment(db)
        end_own_connection(db)
        return answer

    @app.post("/names")
    def add_taken(db: DB) -> dict[str, Any]:
        db.execute(text("INSERT INTO session_names VALUES ('taken')"))
        if not commit_in_exit:
            db.commit()
        return {"name": "taken"}

    @app.get("/counter")
    def get_counter(db: DB, response: Response) -> dict[str, Any]:
        row = db.execute(select(counters).where(counters.c.id == 1)).one()
        response.headers["ETag"] = version_etag(row.version).to_header()
        return {"n": row.n}

    @app.put("/counter")
    def put_counter(
        db: DB, conditions: Preconditions, counter: CounterIn, response: Response
    ) -> dict[str, Any]:
        written = versioned_update(db, counters, 1, {"n": counter.n}, conditions)
        if not commit_in_exit:
            db.commit()
        response.headers["ETag"] = written.etag.to_header()
        return {"n": db.scalar(select(counters.c.n).where(counters.c.id == 1))}

    return app
