"""fastapi-etag: ``GET``/``PUT /notes/{id}`` with its ``Etag`` dependency.

Written as fastapi-etag's README writes it: ``add_exception_handler(app)``
and ``dependencies=[Depends(Etag(gen))]``, where ``gen(request)`` returns the
entity-tag (here the note's version, read in its own Session). The same
dependency on the PUT is all it offers for writes: when the request carries
If-Match, it compares it with ``gen``'s value (string equality, weak tags by
default) and raises 412 on a difference, BEFORE the handler runs. The
handler is then the usual FastAPI + SQLAlchemy update (sync, in the thread
pool): load the note, set its fields, bump its version, commit. Nothing ties
the check to the write, so two requests can both pass the check on the same
version and both write: that is what a user of fastapi-etag gets.

The PUT's answer carries the new version's ETag (the dependency would send
the old one), so a client can chain writes as with httpconflict.

Run: ``uvicorn bench.peer_apps.fastapi_etag_app:app``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi_etag.dependency import Etag, add_exception_handler
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.requests import Request

from bench.adapter_apps import db_path, note_count
from bench.adapter_apps.notes import Note, engine


class NoteIn(BaseModel):
    title: str
    write: int


_engine = engine(db_path(), note_count())


def get_db() -> Iterator[Session]:
    with Session(_engine, expire_on_commit=False) as db:
        yield db


def note_etag(request: Request) -> str | None:
    with Session(_engine) as db:
        version = db.get(Note, int(request.path_params["note_id"]))
        return None if version is None else str(version.version)


Db = Annotated[Session, Depends(get_db)]
app = FastAPI()
add_exception_handler(app)


@app.get("/notes/{note_id}", dependencies=[Depends(Etag(note_etag))])
def get_note(note_id: int, db: Db) -> dict[str, Any]:
    note = db.get(Note, note_id)
    if note is None:
        raise HTTPException(status_code=404, detail="there is no such note")
    return {"id": note_id, "title": note.title, "count": note.count}


@app.put("/notes/{note_id}", dependencies=[Depends(Etag(note_etag))])
def put_note(note_id: int, note_in: NoteIn, response: Response, db: Db) -> dict[str, Any]:
    note = db.get(Note, note_id)
    if note is None:
        raise HTTPException(status_code=404, detail="there is no such note")
    note.title, note.count = note_in.title, note_in.write
    note.version += 1
    db.commit()
    response.headers["etag"] = f'W/"{note.version}"'
    return {"id": note_id, "title": note.title, "count": note.count}
