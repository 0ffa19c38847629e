"""A FastAPI app for tests/adapters/test_fastapi.py, run under uvicorn.

Notes with a version column on the SQLite file ADAPTERS_SQLITE, through
`install`, the `Preconditions` dependency and `httpconflict.sqlalchemy`;
plus routes that raise each kind of error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from httpconflict import NotFound, Unavailable, Validators
from httpconflict.fastapi import Preconditions, install
from httpconflict.sqlalchemy import etag_of, versioned_delete, versioned_update


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[int] = mapped_column(default=1)


class NoteIn(BaseModel):
    title: str


def get_db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as db:
        yield db


DB = Annotated[Session, Depends(get_db)]


def create_app() -> FastAPI:
    app = FastAPI()
    app.state.engine = create_engine(f"sqlite:///{os.environ['ADAPTERS_SQLITE']}")
    Base.metadata.create_all(app.state.engine)
    install(app)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/notes", status_code=201)
    def create(note: NoteIn, db: DB, response: Response) -> dict[str, Any]:
        row = Note(title=note.title)
        db.add(row)
        db.commit()
        response.headers["ETag"] = etag_of(row).to_header()
        return {"id": row.id, "title": row.title}

    @app.get("/notes/{note_id}")
    def read(note_id: int, conditions: Preconditions, db: DB, response: Response) -> Any:
        row = db.get(Note, note_id)
        if row is None:
            raise NotFound(f"there is no note {note_id}")
        conditions.check(Validators(etag_of(row)))
        response.headers["ETag"] = etag_of(row).to_header()
        return {"id": row.id, "title": row.title}

    @app.put("/notes/{note_id}")
    def replace(
        note_id: int, note: NoteIn, conditions: Preconditions, db: DB, response: Response
    ) -> dict[str, Any]:
        etag = versioned_update(db, Note, note_id, {"title": note.title}, conditions)
        db.commit()
        response.headers["ETag"] = etag.to_header()
        return {"id": note_id, "title": note.title}

    @app.delete("/notes/{note_id}", status_code=204)
    def remove(note_id: int, conditions: Preconditions, db: DB) -> Response:
        versioned_delete(db, Note, note_id, conditions)
        db.commit()
        return Response(status_code=204)

    @app.get("/busy")
    def busy() -> None:
        raise Unavailable("the database is busy", retry_after=7)

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(418, detail="short and stout", headers={"X-Pot": "1"})

    @app.get("/detail-object")
    def detail_object() -> None:
        raise HTTPException(409, detail={"reason": "custom"})

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("not an integrity error")

    @app.get("/search")
    def search(limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    return app
