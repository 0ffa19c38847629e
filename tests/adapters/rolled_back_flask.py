"""A Flask app on `conflict_ledger` whose session is committed in a teardown, after the view.

Its views read and add rows to the SQLAlchemy session; ``teardown_appcontext``
commits it (the INSERTs go at that flush), outside every error handler,
after the view formed its answer (ledger_flask.py). Keys: the WSGI
`IdempotencyMiddleware` (in memory) outside ``install``'s wrapper, as the
docs show. Served by ``create`` from ``CONFLICT_DATABASE``
(``postgresql://``, ``mysql://`` or an SQLite file's path).
"""

from __future__ import annotations

import os

from flask import Flask, request
from sqlalchemy import create_engine, text

from httpconflict import PreconditionFailed, PreconditionRequired
from tests.adapters.conflict_ledger import (
    LAST_NUMBER,
    LAST_ROW,
    LAST_VERSION,
    LedgerRow,
    Order,
    engine_arguments,
    sqlite_transactions,
)
from tests.adapters.ledger_flask import teardown_app


def create() -> Flask:
    url = os.environ["CONFLICT_DATABASE"]
    address, options = engine_arguments(url)
    engine = create_engine(address, **options)
    if engine.dialect.name == "sqlite":
        sqlite_transactions(engine)
    app, db = teardown_app(engine)

    @app.get("/counter")
    def get_counter() -> tuple[dict[str, int], dict[str, str]]:
        version, n = db.execute(text(LAST_ROW)).one()
        return {"n": n}, {"ETag": f'"{version}"'}

    @app.put("/counter")
    def put_counter() -> tuple[dict[str, int], dict[str, str]]:
        tag = request.headers.get("If-Match", "").strip('"')
        if not tag.isdigit():
            raise PreconditionRequired("send If-Match with the counter's ETag")
        current = db.scalar(text(LAST_VERSION))
        if current != int(tag):
            raise PreconditionFailed("the counter changed", current_etag=f'"{current}"')
        n = int((request.get_json() or {})["n"])
        key = request.headers.get("Idempotency-Key")
        db.add(LedgerRow(version=int(tag) + 1, n=n, request_key=key))
        return {"n": n}, {"ETag": f'"{int(tag) + 1}"'}

    @app.post("/orders")
    def post_order() -> tuple[dict[str, int], int]:
        number = int(db.scalar(text(LAST_NUMBER)) or 0) + 1
        db.add(Order(number=number, request_key=request.headers["Idempotency-Key"]))
        return {"number": number}, 201

    return app
