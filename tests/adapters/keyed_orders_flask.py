"""Keyed creates in Flask on SQLAlchemy and PostgreSQL: each POST reads first, then inserts.

``POST /orders`` (an Idempotency-Key required, the WSGI IdempotencyMiddleware
on a memory store) reads the orders of its key (a SELECT, as a view looks
something up before it writes), inserts one row holding its key, commits:
201. ``GET /orders/count`` counts all rows, ``GET /orders/per-key`` the rows
of each key. The key in the row is what lets a test count, per request,
how many times it was applied: no unique index, so a second apply shows.
ORDERS_DATABASE is the SQLAlchemy URL; the table is created at start.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select
from sqlalchemy.orm import Session

import httpconflict.sqlalchemy  # noqa: F401  # the commit hooks
from httpconflict.flask import install
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

metadata = MetaData()
orders = Table(
    "keyed_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_key", String(255), nullable=False),
)


def create_app() -> Any:
    engine = create_engine(os.environ["ORDERS_DATABASE"], pool_size=4)
    metadata.create_all(engine)
    app = Flask(__name__)
    install(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"ok": True}

    @app.post("/orders")
    def create() -> Any:
        key = request.headers["Idempotency-Key"]
        with Session(engine) as session:
            session.execute(select(orders.c.id).where(orders.c.request_key == key))
            session.execute(insert(orders).values(request_key=key))
            session.commit()
        return {"created": True}, 201

    @app.get("/orders/count")
    def count() -> Any:
        with Session(engine) as session:
            return {"orders": session.scalar(select(func.count()).select_from(orders))}

    @app.get("/orders/per-key")
    def per_key() -> Any:
        with Session(engine) as session:
            rows = session.execute(
                select(orders.c.request_key, func.count()).group_by(orders.c.request_key)
            ).all()
        return dict(rows)

    policy = IdempotencyPolicy(required=True)
    keys = idempotency_store("memory")
    app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=keys, policy=policy)  # type: ignore[method-assign]
    return app
