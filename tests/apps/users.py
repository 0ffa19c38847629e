"""A users API whose writes the database refuses, in FastAPI and in Flask.

POST /users inserts {"id", "email", "handle"}: email is UNIQUE (constraint
users_email_key) and NOT NULL; handle has a unique index named
ix_people_lookup, which does not say its column. GET /broken runs a query
on a table that does not exist, GET /boom raises ValueError: neither is an
integrity error, so both must stay 500s.

- FastAPI + SQLAlchemy on a SQLite file (USERS_SQLITE), with a CatalogCache;
- Flask + psycopg on PostgreSQL (USERS_POSTGRES, a conninfo).
"""

from __future__ import annotations

import os
from typing import Any

from httpconflict.catalog import CatalogCache, load_catalog

DDL = [
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL, "
    "handle VARCHAR(50), CONSTRAINT users_email_key UNIQUE (email))",
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_people_lookup ON users (lower(handle))",
]


def create_fastapi() -> Any:
    from fastapi import FastAPI
    from sqlalchemy import create_engine, text

    from httpconflict.starlette import add_integrity_handler

    engine = create_engine(f"sqlite:///{os.environ['USERS_SQLITE']}")
    with engine.begin() as conn:
        for statement in DDL:
            conn.execute(text(statement))
    app = FastAPI()
    add_integrity_handler(app, catalog=CatalogCache(lambda: load_catalog(engine)))

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/users", status_code=201)
    def create_user(user: dict[str, Any]) -> dict[str, Any]:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO users (id, email, handle) VALUES (:id, :email, :handle)"),
                {"id": user.get("id"), "email": user.get("email"), "handle": user.get("handle")},
            )
        return user

    @app.get("/broken")
    def broken() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT * FROM missing_table"))

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("UNIQUE constraint failed: users.email")  # not from a database

    return app


def create_flask() -> Any:
    import psycopg
    from flask import Flask, jsonify, request

    from httpconflict.flask import install

    conninfo = os.environ["USERS_POSTGRES"]
    with psycopg.connect(conninfo) as conn:
        for statement in DDL:
            conn.execute(statement.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))

    def catalog() -> Any:
        with psycopg.connect(conninfo) as conn:
            return load_catalog(conn)

    app = Flask(__name__)
    install(app, catalog=CatalogCache(catalog))

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(ok=True)

    @app.post("/users")
    def create_user() -> Any:
        user = request.get_json()
        with psycopg.connect(conninfo) as conn:
            conn.execute(
                "INSERT INTO users (email, handle) VALUES (%s, %s)",
                (user.get("email"), user.get("handle")),
            )
        return jsonify(user), 201

    @app.get("/broken")
    def broken() -> Any:
        with psycopg.connect(conninfo) as conn:
            conn.execute("SELECT * FROM missing_table")
        return "", 204

    @app.get("/boom")
    def boom() -> Any:
        raise ValueError("UNIQUE constraint failed: users.email")

    return app
