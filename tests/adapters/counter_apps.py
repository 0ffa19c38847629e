"""One counter row written with If-Match, in FastAPI and in Flask, on SQLAlchemy.

COUNTER_DATABASE is a SQLAlchemy URL (PostgreSQL through psycopg, MariaDB
through PyMySQL, or SQLite). ``GET /counter`` answers ``{"n": n}`` and the
row's ETag; ``PUT /counter`` with If-Match writes ``{"n": ...}`` in one
``UPDATE ... WHERE version = ?`` (`httpconflict.sqlalchemy.versioned_update`).
``GET /healthz`` touches no database, so the server is "up" while the
database is down. The table is created (and the counter's row inserted) at
start; COUNTER_ROW (default 1) is its id, so that apps can share a database.
"""

import os
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.orm import Session

from httpconflict import NotFound
from httpconflict.sqlalchemy import version_etag, versioned_update

metadata = MetaData()
counters = Table(
    "outage_counters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)


ROW = int(os.environ.get("COUNTER_ROW", "1"))


def create_table(database: str) -> None:
    """Create the counters' table on `database` before apps start on it.

    Two apps starting at once would each create it: PostgreSQL refuses the
    second CREATE TABLE of the same name with a unique violation on its
    catalog (``pg_type_typname_nsp_index``) when the two overlap.
    """
    engine = create_engine(database)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def _engine() -> Engine:
    engine = create_engine(os.environ["COUNTER_DATABASE"], pool_size=4)
    metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(select(counters.c.id).where(counters.c.id == ROW)).first() is None:
            conn.execute(insert(counters).values(id=ROW, n=0, version=1))
    return engine


def _read(engine: Engine) -> tuple[int, str]:
    with Session(engine) as session:
        row = session.execute(select(counters).where(counters.c.id == ROW)).first()
    if row is None:
        raise NotFound("there is no counter")
    return row.n, version_etag(row.version).to_header()


def _write(engine: Engine, n: Any, conditions: Any) -> str:
    with Session(engine) as session:
        written = versioned_update(session, counters, ROW, {"n": int(n)}, conditions)
        session.commit()
    return written.etag.to_header()


def create_fastapi() -> Any:
    # Imported here, so that the Flask app does not load FastAPI; the module has no
    # `from __future__ import annotations`, so FastAPI reads the annotations as objects.
    from fastapi import FastAPI, Response

    from httpconflict.fastapi import Preconditions, install

    engine = _engine()
    app = FastAPI()
    install(app)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/counter")
    def read(response: Response) -> dict[str, int]:
        n, etag = _read(engine)
        response.headers["ETag"] = etag
        return {"n": n}

    @app.put("/counter")
    def write(
        body: dict[str, int], conditions: Preconditions, response: Response
    ) -> dict[str, int]:
        response.headers["ETag"] = _write(engine, body["n"], conditions)
        return {"n": body["n"]}

    return app


def create_flask() -> Any:
    from flask import Flask, jsonify

    from httpconflict.flask import install, json_body, request_conditions

    engine = _engine()
    app = Flask(__name__)
    install(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(ok=True)

    @app.get("/counter")
    def read() -> Any:
        n, etag = _read(engine)
        return jsonify(n=n), 200, {"ETag": etag}

    @app.put("/counter")
    def write() -> Any:
        body = json_body()
        etag = _write(engine, body["n"], request_conditions())
        return jsonify(n=body["n"]), 200, {"ETag": etag}

    return app
