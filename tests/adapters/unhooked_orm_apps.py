"""Apps on SQLAlchemy that never import ``httpconflict.sqlalchemy``: a commit, then a bug.

A Starlette app (``starlette_app``) and a Flask app (``flask_app``), each
behind its framework's `IdempotencyMiddleware` on a memory key store, with
orders in the SQLite file ``UNHOOKED_DATABASE`` names. ``POST /orders``
commits an order through a SQLAlchemy session, then raises. Neither module
imports the library's SQLAlchemy package, whose engine events tell a
request's commits: the middleware must watch them all the same.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Integer, create_engine, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class _Base(DeclarativeBase):
    pass


class Order(_Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


def _engine() -> Any:
    engine = create_engine(f"sqlite:///{os.environ['UNHOOKED_DATABASE']}")
    _Base.metadata.create_all(engine)
    return engine


def _place_order_then_fail(engine: Any) -> None:
    with Session(engine) as session:
        session.add(Order())
        session.commit()
    raise RuntimeError("the receipt's template is missing")  # a bug after the commit


def _count(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM orders")).scalar_one())


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from httpconflict.asgi import IdempotencyMiddleware
    from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore

    engine = _engine()

    async def place(request: Request) -> JSONResponse:
        _place_order_then_fail(engine)
        return JSONResponse({}, status_code=201)

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"orders": _count(engine)})

    app = Starlette(
        routes=[
            Route("/orders", place, methods=["POST"]),
            Route("/orders/count", count, methods=["GET"]),
        ]
    )
    return IdempotencyMiddleware(app, store=MemoryIdempotencyStore())


def flask_app() -> Any:
    from flask import Flask

    from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore
    from httpconflict.wsgi import IdempotencyMiddleware

    engine = _engine()
    app = Flask(__name__)

    @app.post("/orders")
    def place() -> Any:
        _place_order_then_fail(engine)
        return {}, 201

    @app.get("/orders/count")
    def count() -> Any:
        return {"orders": _count(engine)}

    app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=MemoryIdempotencyStore())  # type: ignore[method-assign]
    return app
