"""The example API (examples/README.md) in idiomatic FastAPI, conflict-correct.

- users: the database's unique index on email is the arbiter; its
  IntegrityError becomes a 409 naming "email" (`install` registers that);
- notes: GET answers 304 when If-None-Match names the current ETag (and says
  ``Cache-Control: no-cache``, httpconflict's default for a read with an ETag,
  so that a shared cache asks before each use); PUT and
  DELETE write in ONE statement ``... WHERE id = ? AND version = ?``
  (`versioned_update`), so a stale If-Match is a 412 and none is a 428;
- orders: the answer to a POST with an Idempotency-Key is recorded in the
  order's own transaction (`record_answer`), so the order and its key are
  committed together or not at all, even when the worker is killed; a
  retry gets the recorded answer, never a second order;
- every other write: `IdempotencyMiddleware` replays the answer of a
  request retried with its Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from httpconflict import NotFound, Validators
from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, Scope, active_claim
from httpconflict.fastapi import Preconditions, install
from httpconflict.sqlalchemy import (
    SQLAlchemyIdempotencyStore,
    etag_of,
    record_answer,
    versioned_delete,
    versioned_update,
)

from .models import Base, Note, NoteIn, NoteOut, Order, OrderIn, OrderOut, User, UserIn, UserOut


def get_db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as db:
        yield db


DB = Annotated[Session, Depends(get_db)]
router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/v1/users", status_code=201)
def create_user(user: UserIn, db: DB, response: Response) -> UserOut:
    row = User(**user.model_dump())
    db.add(row)
    db.commit()  # a taken email: IntegrityError, answered 409 by `install`
    _created(response, f"/v1/users/{row.id}", row)
    return UserOut.model_validate(row)


@router.get("/v1/users/{user_id}")
def get_user(user_id: int, db: DB, response: Response) -> UserOut:
    row = _get(db, User, user_id)
    response.headers["ETag"] = etag_of(row).to_header()
    return UserOut.model_validate(row)


@router.post("/v1/notes", status_code=201)
def create_note(note: NoteIn, db: DB, response: Response) -> NoteOut:
    row = Note(**note.model_dump())
    db.add(row)
    db.commit()
    _created(response, f"/v1/notes/{row.id}", row)
    return NoteOut.model_validate(row)


@router.get("/v1/notes/{note_id}")
@router.head("/v1/notes/{note_id}")
def get_note(note_id: int, conditions: Preconditions, db: DB, response: Response) -> NoteOut:
    row = _get(db, Note, note_id)
    conditions.check(Validators(etag_of(row)))  # 304 (or 412) before building the body
    response.headers["ETag"] = etag_of(row).to_header()
    return NoteOut.model_validate(row)


@router.put("/v1/notes/{note_id}")
def put_note(
    note_id: int, note: NoteIn, conditions: Preconditions, db: DB, response: Response
) -> NoteOut:
    written = versioned_update(db, Note, note_id, note.model_dump(), conditions)
    db.commit()
    response.headers["ETag"] = written.etag.to_header()
    return NoteOut(id=note_id, **note.model_dump())


@router.delete("/v1/notes/{note_id}", status_code=204)
def delete_note(note_id: int, conditions: Preconditions, db: DB) -> Response:
    versioned_delete(db, Note, note_id, conditions)
    db.commit()
    return Response(status_code=204)


@router.post("/v1/orders", status_code=201, response_model=OrderOut)
def create_order(order: OrderIn, db: DB, request: Request) -> Response:
    row = Order(**order.model_dump())
    db.add(row)
    db.flush()  # the order's id, for the answer
    answer = JSONResponse(
        OrderOut.model_validate(row).model_dump(),
        status_code=201,
        headers={"Location": f"/v1/orders/{row.id}"},
    )
    # The answer, under the request's Idempotency-Key, in the order's transaction.
    claim = active_claim(request.scope)
    record_answer(db, claim, answer.status_code, answer.headers.items(), answer.body)
    db.commit()
    return answer


@router.get("/v1/orders/{order_id}")
def get_order(order_id: int, db: DB) -> OrderOut:
    return OrderOut.model_validate(_get(db, Order, order_id))


#: POST /v1/orders records its own answer, with the order.
ORDERS = IdempotencyPolicy(transactional=True)
#: Every other POST, PUT, PATCH and DELETE: a retry after a lost answer is replayed.
WRITES = IdempotencyPolicy()


def key_policy(scope: Scope) -> IdempotencyPolicy:
    return ORDERS if scope["path"] == "/v1/orders" else WRITES


def create_app(db: str) -> FastAPI:
    """The app on `db`, a SQLite file or a database URL (tables created here, keys too)."""
    engine = create_engine(db if "://" in db else f"sqlite:///{db}")
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _wal)
    Base.metadata.create_all(engine)
    app = FastAPI(title="httpconflict example (FastAPI)")
    app.state.engine = engine
    app.include_router(router)
    install(app)
    keys = SQLAlchemyIdempotencyStore(engine)  # the keys beside the orders
    app.add_middleware(IdempotencyMiddleware, store=keys, policy=key_policy)
    return app


def _get(db: Session, model: Any, key: int) -> Any:
    row = db.get(model, key)
    if row is None:
        raise NotFound(f"there is no {model.__tablename__[:-1]} {key}")
    return row


def _created(response: Response, location: str, row: User | Note) -> None:
    response.headers["Location"] = location
    response.headers["ETag"] = etag_of(row).to_header()


def _wal(connection: Any, _record: Any) -> None:
    # Readers do not block the writer, and a writer waits for the lock
    # rather than failing at once.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=10000")
