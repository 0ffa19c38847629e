"""A Flask app whose session is committed in a teardown function, as real apps do.

Its views only add and flush; ``@app.teardown_appcontext`` (or, with
``TEARDOWN=request``, ``@app.teardown_request``) commits the session when
the view raised nothing, then removes it: the COMMIT comes after the
view's answer was formed, outside every error handler.

- ``POST /refused``: a write the database refuses only at COMMIT: on PostgreSQL the name
  ``taken`` again, under a DEFERRABLE INITIALLY DEFERRED unique constraint; on SQLite,
  whose unique constraints are never deferred, a pet of an owner that does not exist,
  under a DEFERRABLE INITIALLY DEFERRED foreign key; ``?commit=view``: the same write
  committed in the view, whose error reaches ``install``'s handler;
- ``GET /counter`` and ``PUT /counter``: a pure counter ``{"n": n}``, its row's version the
  ETag, written with If-Match in one guarded UPDATE (`versioned_update`);
- ``GET /ledger`` and ``PUT /ledger``: the same counter kept as a ledger, one row per
  version: a PUT with ``If-Match: "v"`` appends version v + 1, and two writers of the same
  version are told apart only at COMMIT, by a deferred unique constraint (PostgreSQL);
- ``GET /healthz`` touches no database.

``KEYS=outside`` adds an `IdempotencyMiddleware` (keys in memory) after `install`, as the
docs show; ``KEYS=inside`` before it (inside `install`'s own wrapper of ``wsgi_app``).
Served by ``create`` from the environment (``COMMITS_DATABASE``: a ``postgresql://`` URL
or a SQLite file's path); `prepare` makes the tables.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session, sessionmaker

import httpconflict.sqlalchemy  # noqa: F401  # the hooks that count commits
from httpconflict import PreconditionRequired
from httpconflict.flask import install, json_body, request_conditions
from httpconflict.sqlalchemy import version_etag, versioned_update
from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware

counters = Table(
    "teardown_counters",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)


def create() -> Flask:
    """The app as the environment says (for a server process)."""
    return create_app(
        os.environ["COMMITS_DATABASE"],
        keys=os.environ.get("KEYS", ""),
        teardown=os.environ.get("TEARDOWN", "appcontext"),
    )


def _engine(database: str) -> Engine:
    if database.startswith("postgresql://"):
        return create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = create_engine(f"sqlite:///{database}", connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    return engine


def create_app(database: str, *, keys: str = "", teardown: str = "appcontext") -> Flask:
    """The app on `database` (whose tables `prepare` made)."""
    engine = _engine(database)
    postgres = engine.dialect.name == "postgresql"
    db = scoped_session(sessionmaker(engine))
    app = Flask(__name__)
    middleware = IdempotencyMiddleware
    if keys == "inside":
        app.wsgi_app = middleware(app.wsgi_app, store=MemoryIdempotencyStore())  # type: ignore[method-assign]
    install(app)
    if keys == "outside":
        app.wsgi_app = middleware(app.wsgi_app, store=MemoryIdempotencyStore())  # type: ignore[method-assign]

    def commit_session(error: BaseException | None) -> None:
        try:
            if error is None:
                db.commit()
        finally:
            db.remove()

    if teardown == "request":
        app.teardown_request(commit_session)
    else:
        app.teardown_appcontext(commit_session)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.post("/refused")
    def refused() -> tuple[dict[str, Any], int]:
        if postgres:
            db.execute(text("INSERT INTO teardown_names VALUES ('taken')"))
        else:
            db.execute(text("INSERT INTO teardown_pets (owner) VALUES (999)"))
        db.flush()
        if request.args.get("commit") == "view":
            db.commit()
        return {"stored": True}, 201

    @app.get("/counter")
    def get_counter() -> tuple[dict[str, int], dict[str, str]]:
        row = db.execute(select(counters).where(counters.c.id == 1)).one()
        return {"n": row.n}, {"ETag": version_etag(row.version).to_header()}

    @app.put("/counter")
    def put_counter() -> tuple[dict[str, int], dict[str, str]]:
        n = int(json_body()["n"])
        written = versioned_update(db(), counters, 1, {"n": n}, request_conditions())
        return {"n": n}, {"ETag": written.etag.to_header()}

    @app.get("/ledger")
    def get_ledger() -> tuple[dict[str, int], dict[str, str]]:
        version = db.scalar(text("SELECT max(version) FROM teardown_ledger"))
        n = db.scalar(text("SELECT n FROM teardown_ledger WHERE version = :v"), {"v": version})
        return {"n": n}, {"ETag": version_etag(version).to_header()}

    @app.put("/ledger")
    def put_ledger() -> tuple[dict[str, int], dict[str, str]]:
        tags = request_conditions().if_match
        if tags is None or not request.headers["If-Match"].strip('"').isdigit():
            raise PreconditionRequired("send If-Match with the ledger's ETag")
        version = int(request.headers["If-Match"].strip('"')) + 1
        n = int(json_body()["n"])
        db.execute(text("INSERT INTO teardown_ledger VALUES (:v, :n)"), {"v": version, "n": n})
        db.flush()
        return {"n": n}, {"ETag": version_etag(version).to_header()}

    return app


def prepare(database: str) -> None:
    """The tables, the counter and the ledger at 0, and the row the refused write collides with."""
    if not database.startswith("postgresql://"):
        import sqlite3

        with sqlite3.connect(database) as lite:
            lite.executescript(
                """
                CREATE TABLE teardown_owners (id INTEGER PRIMARY KEY);
                CREATE TABLE teardown_pets (
                    id INTEGER PRIMARY KEY,
                    owner INTEGER REFERENCES teardown_owners (id) DEFERRABLE INITIALLY DEFERRED
                );
                CREATE TABLE teardown_counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL,
                                                version INTEGER NOT NULL);
                INSERT INTO teardown_counters VALUES (1, 0, 1);
                CREATE TABLE teardown_ledger (version INTEGER UNIQUE, n INTEGER NOT NULL);
                INSERT INTO teardown_ledger VALUES (1, 0);
                """
            )
        lite.close()
        return
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE teardown_names (name text, UNIQUE (name) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.execute("INSERT INTO teardown_names VALUES ('taken')")
        conn.execute(
            "CREATE TABLE teardown_counters "
            "(id int PRIMARY KEY, n int NOT NULL, version int NOT NULL)"
        )
        conn.execute("INSERT INTO teardown_counters VALUES (1, 0, 1)")
        conn.execute(
            "CREATE TABLE teardown_ledger (version int NOT NULL, n int NOT NULL, "
            "CONSTRAINT teardown_ledger_version_key UNIQUE (version) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.execute("INSERT INTO teardown_ledger VALUES (1, 0)")


def reset(database: str) -> None:
    """The rows as `prepare` made them (for the next test on the same database)."""
    refused = (
        "DELETE FROM teardown_names WHERE name <> 'taken'"
        if database.startswith("postgresql://")
        else "DELETE FROM teardown_pets"
    )
    engine = _engine(database)
    try:
        with engine.begin() as conn:
            conn.execute(text(refused))
            conn.execute(text("UPDATE teardown_counters SET n = 0, version = 1 WHERE id = 1"))
            conn.execute(text("DELETE FROM teardown_ledger WHERE version > 1"))
    finally:
        engine.dispose()


def stored(database: str) -> dict[str, int]:
    """What is stored: names (or pets), the counter's n and version, the ledger's rows and n."""
    queries = {
        "refused_rows": "SELECT count(*) FROM teardown_names"
        if database.startswith("postgresql://")
        else "SELECT count(*) FROM teardown_pets",
        "n": "SELECT n FROM teardown_counters WHERE id = 1",
        "version": "SELECT version FROM teardown_counters WHERE id = 1",
        "ledger_rows": "SELECT count(*) FROM teardown_ledger",
        "ledger_n": "SELECT n FROM teardown_ledger ORDER BY version DESC LIMIT 1",
    }
    engine = _engine(database)
    try:
        with engine.connect() as conn:
            return {name: int(conn.scalar(text(sql)) or 0) for name, sql in queries.items()}
    finally:
        engine.dispose()
