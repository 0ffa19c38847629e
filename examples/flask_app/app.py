"""The example API (examples/README.md) in Flask and SQLAlchemy, conflict-correct.

- a duplicate email: the unique index refuses it, and `install`
  answers 409 naming "email";
- notes: `conditional` answers 304 for a matching If-None-Match, and
  `versioned_update` / `versioned_delete` check If-Match in the UPDATE or
  DELETE itself (412 stale, 428 missing, 404 absent);
- orders: the answer to a POST with an Idempotency-Key is recorded in the
  order's own transaction (`record_answer`): the order and its key commit
  together or not at all, even when the worker is killed, and a retry gets
  the recorded answer, never a second order;
- every other write: the `IdempotencyMiddleware` replays a request retried
  with its Idempotency-Key.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from httpconflict import InvalidDocument, NotFound, Validators
from httpconflict.flask import conditional, install, json_body, request_conditions
from httpconflict.sqlalchemy import (
    SQLAlchemyIdempotencyStore,
    etag_of,
    record_answer,
    versioned_delete,
    versioned_update,
)
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy, active_claim

from .models import Base, Note, Order, User


def fields(**types: type) -> dict[str, Any]:
    """The request's JSON object, which must have these members of these types (else 422)."""
    body = json_body()
    for name, kind in types.items():
        value = body.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidDocument(f"{name!r} must be a {kind.__name__}", member=name)
    return {name: body[name] for name in types}


#: POST /v1/orders records its own answer, with the order.
ORDERS = IdempotencyPolicy(transactional=True)
#: Every other POST, PUT, PATCH and DELETE: a retry after a lost answer is replayed.
WRITES = IdempotencyPolicy()


def key_policy(environ: dict[str, Any]) -> IdempotencyPolicy:
    return ORDERS if environ["PATH_INFO"] == "/v1/orders" else WRITES


def create_app(db: str) -> Flask:
    """The app on `db`, a SQLite file or a database URL, its tables created."""
    engine = create_engine(db if "://" in db else f"sqlite:///{db}")
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            # Readers and one writer at a time, without blocking each other.
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    Base.metadata.create_all(engine)
    Session = sessionmaker(engine, expire_on_commit=False)

    app = Flask(__name__)
    install(app)
    # Idempotency-Key on every POST, PUT, PATCH and DELETE, the keys beside the data.
    keys = SQLAlchemyIdempotencyStore(engine)
    app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=keys, policy=key_policy)  # type: ignore[method-assign]  # Flask's way to add WSGI middleware

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/v1/users")
    def create_user() -> Any:
        user = User(**fields(email=str, name=str))
        with Session.begin() as session:
            session.add(user)
        return user.to_dict(), 201, {"Location": f"/v1/users/{user.id}"}

    @app.post("/v1/notes")
    def create_note() -> Any:
        note = Note(**fields(title=str, count=int, writer=str))
        with Session.begin() as session:
            session.add(note)
        headers = {"Location": f"/v1/notes/{note.id}", "ETag": etag_of(note).to_header()}
        return note.to_dict(), 201, headers

    def note_validators(note_id: int) -> Validators | None:
        with Session() as session:
            note = session.get(Note, note_id)
        return None if note is None else Validators(etag_of(note))

    @app.get("/v1/notes/<int:note_id>")
    @conditional(note_validators)  # 304 or 412 before the view reads the note
    def get_note(note_id: int) -> Any:
        with Session() as session:
            note = session.get(Note, note_id)
        if note is None:
            raise NotFound(f"there is no note {note_id}")
        return note.to_dict()

    @app.put("/v1/notes/<int:note_id>")
    def put_note(note_id: int) -> Any:
        values = fields(title=str, count=int, writer=str)
        with Session.begin() as session:
            etag = versioned_update(session, Note, note_id, values, request_conditions()).etag
        return {"id": note_id, **values}, {"ETag": etag.to_header()}

    @app.delete("/v1/notes/<int:note_id>")
    def delete_note(note_id: int) -> Any:
        with Session.begin() as session:
            versioned_delete(session, Note, note_id, request_conditions())
        return "", 204

    @app.post("/v1/orders")
    def create_order() -> Any:
        order = Order(**fields(item=str, qty=int))
        with Session.begin() as session:
            session.add(order)
            session.flush()  # the order's id, for the answer
            answer = jsonify(order.to_dict())
            answer.status_code = 201
            answer.headers["Location"] = f"/v1/orders/{order.id}"
            # The answer, under the request's Idempotency-Key, in the order's transaction.
            claim = active_claim(request.environ)
            record_answer(session, claim, 201, answer.headers.items(), answer.get_data())
        return answer

    return app
