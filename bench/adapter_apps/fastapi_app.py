"""FastAPI + SQLAlchemy: ``PUT /notes/{id}`` through httpconflict, or a plain UPDATE.

Both sides are the same app, written as docs/fastapi.md writes it: a sync
handler (FastAPI runs it in its thread pool), a Pydantic body, a Session
per request from a dependency. The adapter side adds ``install(app)``, the
``Preconditions`` dependency and ``versioned_update`` (one ``UPDATE ...
WHERE id = ? AND version IN (...)``, 428 without If-Match, 412 when stale);
the plain side runs ``UPDATE notes SET ... WHERE id = ?`` with no check.
Both also answer ``GET /notes/{id}`` (the note and its ETag) for bench/peers.py.

Run: ``ADAPTER_SIDE=adapter|plain uvicorn bench.adapter_apps.fastapi_app:app``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session

from httpconflict.fastapi import Preconditions, install
from httpconflict.sqlalchemy import etag_of, versioned_update

from . import db_path, note_count, side
from .notes import Note, engine


class NoteIn(BaseModel):
    title: str
    write: int


_engine = engine(db_path(), note_count())


def get_db() -> Iterator[Session]:
    with Session(_engine, expire_on_commit=False) as db:
        yield db


Db = Annotated[Session, Depends(get_db)]
app = FastAPI()


@app.get("/notes/{note_id}")
def get_note(note_id: int, response: Response, db: Db) -> dict[str, Any]:
    """The note and its ETag: the read of bench/peers.py's read-modify-write hammer."""
    note = db.get(Note, note_id)
    if note is None:
        raise HTTPException(status_code=404, detail="there is no such note")
    response.headers["ETag"] = etag_of(note).to_header()
    return {"id": note_id, "title": note.title, "count": note.count}


if side() == "adapter":
    install(app)

    @app.put("/notes/{note_id}")
    def put_note(
        note_id: int, note: NoteIn, conditions: Preconditions, response: Response, db: Db
    ) -> dict[str, Any]:
        values = {"title": note.title, "count": note.write}
        written = versioned_update(db, Note, note_id, values, conditions)
        db.commit()
        response.headers["ETag"] = written.etag.to_header()
        return {"id": note_id, **values}

else:

    @app.put("/notes/{note_id}")
    def put_note_plain(note_id: int, note: NoteIn, db: Db) -> dict[str, Any]:
        values = {"title": note.title, "count": note.write}
        result = db.execute(update(Note).where(Note.id == note_id).values(values))
        db.commit()
        if result.rowcount == 0:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
            raise HTTPException(status_code=404, detail="there is no such note")
        return {"id": note_id, **values}
