"""A Flask app under a transactional Idempotency-Key policy, one route of it forgetting the key.

Run as a server process (``start_app("tests.adapters.flask_unrecorded_key:create_app",
..., wsgi=True)``), behind `httpconflict.wsgi.IdempotencyMiddleware` with the
keys in its SQLite file (UNRECORDED_DB, `SQLAlchemyIdempotencyStore`). Each
``POST`` adds 1 to a counter and answers ``{"n": n}``: ``/first`` records
the answer in the increment's transaction (`record_answer`), ``/never``
commits the increment and records nothing. ``GET /count`` reads n.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from httpconflict.flask import install
from httpconflict.sqlalchemy import SQLAlchemyIdempotencyStore, record_answer
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy, active_claim

INCREMENT = text("UPDATE counter SET n = n + 1 RETURNING n")


def create_app() -> Any:
    engine = create_engine(f"sqlite:///{os.environ['UNRECORDED_DB']}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS counter (n INTEGER)"))
        if conn.execute(text("SELECT count(*) FROM counter")).scalar_one() == 0:
            conn.execute(text("INSERT INTO counter (n) VALUES (0)"))
    app = Flask(__name__)
    install(app)

    @app.get("/count")
    def count() -> Any:
        with engine.connect() as conn:
            return jsonify(n=conn.execute(text("SELECT n FROM counter")).scalar_one())

    @app.post("/<mode>")
    def increment(mode: str) -> Any:
        with Session(engine) as session, session.begin():
            answer = jsonify(n=session.execute(INCREMENT).scalar_one())
            if mode == "first":
                claim = active_claim(request.environ)
                record_answer(session, claim, 200, answer.headers.items(), answer.get_data())
        return answer

    store = SQLAlchemyIdempotencyStore(engine)
    policy = IdempotencyPolicy(transactional=True)
    return IdempotencyMiddleware(app, store=store, policy=policy)
