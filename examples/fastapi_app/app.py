"""The example API (examples/README.md) in idiomatic FastAPI, conflict-correct.

- users: the database's unique index on email is the arbiter; its
  IntegrityError becomes a 409 naming "email" (`install` registers that);
- notes: GET answers 304 when If-None-Match names the current ETag; PUT and
  DELETE write in ONE statement ``... WHERE id = ? AND version = ?``
  (`versioned_update`), so a stale If-Match is a 412 and none is a 428;
- orders, and every other write: `IdempotencyMiddleware` replays the answer
  of a request retried with its Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from httpconflict import NotFound, Validators
from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy
from httpconflict.fastapi import Preconditions, install
from httpconflict.sqlalchemy import etag_of, versioned_delete, versioned_update
from httpconflict.storage.idempotency import idempotency_store

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


@router.post("/v1/orders", status_code=201)
def create_order(order: OrderIn, db: DB, response: Response) -> OrderOut:
    row = Order(**order.model_dump())
    db.add(row)
    db.commit()
    response.headers["Location"] = f"/v1/orders/{row.id}"
    return OrderOut.model_validate(row)


@router.get("/v1/orders/{order_id}")
def get_order(order_id: int, db: DB) -> OrderOut:
    return OrderOut.model_validate(_get(db, Order, order_id))


def create_app(path: str) -> FastAPI:
    """The app on the SQLite file `path` (tables created here); keys in ``<path>.keys``."""
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _wal)
    Base.metadata.create_all(engine)
    app = FastAPI(title="httpconflict example (FastAPI)")
    app.state.engine = engine
    app.include_router(router)
    install(app)
    # Every POST, PUT, PATCH and DELETE: a retry after a lost answer is replayed.
    # The store opens itself (at start-up, or on the first keyed request).
    keys = idempotency_store(f"{path}.keys")
    app.add_middleware(IdempotencyMiddleware, store=keys, policy=IdempotencyPolicy())
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
