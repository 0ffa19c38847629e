"""A FastAPI app for tests/adapters/test_fastapi.py, run under uvicorn.

Notes with a version column on the SQLite file ADAPTERS_SQLITE (or the
database of the SQLAlchemy URL ADAPTERS_DATABASE), through
`install`, the `Preconditions` dependency and `httpconflict.sqlalchemy`;
drafts patched with `PatchBody` and `versioned_patch`, rebased on
``Prefer: rebase`` from the versions the app keeps; gauges, whose columns
hold each kind of scalar, patched the same way; plus routes that raise
each kind of error.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from datetime import datetime, time
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    Float,
    Numeric,
    SmallInteger,
    String,
    Time,
    create_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from httpconflict import NotFound, Unavailable, Validators, rebase_fields
from httpconflict.fastapi import PatchBody, Preconditions, install
from httpconflict.sqlalchemy import etag_of, versioned_delete, versioned_patch, versioned_update


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[int] = mapped_column(default=1)


class NoteIn(BaseModel):
    title: str


class Draft(Base):
    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(1000))
    version: Mapped[int] = mapped_column(default=1)


class DraftVersion(Base):
    """What each version of a draft held: the base a stale patch is rebased from."""

    __tablename__ = "draft_versions"
    draft: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(1000))


class Gauge(Base):
    """A row with a column of each kind a JSON scalar may be set to."""

    __tablename__ = "gauges"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[int] = mapped_column(default=0)
    small: Mapped[int] = mapped_column(SmallInteger, default=0)
    big: Mapped[int] = mapped_column(BigInteger, default=0)
    on: Mapped[bool] = mapped_column(Boolean, default=False)
    ratio: Mapped[float] = mapped_column(Float, default=0.0)
    at: Mapped[datetime] = mapped_column(DateTime, default=datetime(2024, 1, 1))
    #: FLOAT is single precision on MariaDB, as `ratio` is; DOUBLE everywhere.
    weight: Mapped[float] = mapped_column(Double, default=0.0)
    price: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"))
    clock: Mapped[time] = mapped_column(Time, default=time(0))
    version: Mapped[int] = mapped_column(default=1)


def gauge_json(row: Any) -> dict[str, Any]:
    names = ("label", "level", "small", "big", "on", "ratio", "weight")
    return {
        **{name: getattr(row, name) for name in names},
        "at": row.at.isoformat(),
        "price": str(row.price),
        "clock": row.clock.isoformat(),
    }


def draft_json(row: Any) -> dict[str, Any]:
    return {"title": row.title, "body": row.body}


def get_db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as db:
        yield db


DB = Annotated[Session, Depends(get_db)]


def create_app() -> FastAPI:
    app = FastAPI()
    url = os.environ.get("ADAPTERS_DATABASE") or f"sqlite:///{os.environ['ADAPTERS_SQLITE']}"
    app.state.engine = create_engine(url)
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
        written = versioned_update(db, Note, note_id, {"title": note.title}, conditions)
        db.commit()
        response.headers["ETag"] = written.etag.to_header()
        return {"id": note_id, "title": note.title}

    @app.delete("/notes/{note_id}", status_code=204)
    def remove(note_id: int, conditions: Preconditions, db: DB) -> Response:
        versioned_delete(db, Note, note_id, conditions)
        db.commit()
        return Response(status_code=204)

    @app.post("/drafts", status_code=201)
    def create_draft(db: DB, response: Response) -> dict[str, Any]:
        row = Draft(title="", body="")
        db.add(row)
        db.flush()
        db.add(DraftVersion(draft=row.id, version=1, title="", body=""))
        db.commit()
        response.headers["ETag"] = etag_of(row).to_header()
        return {"id": row.id}

    @app.patch("/drafts/{draft_id}")
    def patch_draft(
        draft_id: int, patch: PatchBody, conditions: Preconditions, db: DB, response: Response
    ) -> Any:
        def kept(version: int) -> dict[str, Any] | None:
            found = db.get(DraftVersion, (draft_id, version))
            return None if found is None else draft_json(found)

        # rebase: what the request asked for (Prefer: rebase), which `conditions` carry
        written = versioned_patch(
            db, Draft, draft_id, patch, conditions, document=draft_json, history=kept
        )
        if written.changed:
            version = int(written.etag.opaque)
            db.add(DraftVersion(draft=draft_id, version=version, **draft_json(written.row)))
        db.commit()
        response.headers.update(
            {"ETag": written.etag.to_header(), **rebase_fields(written.rebased_from)}
        )
        return draft_json(written.row)

    @app.post("/gauges", status_code=201)
    def create_gauge(db: DB, response: Response) -> dict[str, Any]:
        row = Gauge()
        db.add(row)
        db.commit()
        response.headers["ETag"] = etag_of(row).to_header()
        return {"id": row.id, **gauge_json(row)}

    @app.get("/gauges/{gauge_id}")
    def read_gauge(gauge_id: int, db: DB, response: Response) -> dict[str, Any]:
        row = db.get(Gauge, gauge_id)
        if row is None:
            raise NotFound(f"there is no gauge {gauge_id}")
        response.headers["ETag"] = etag_of(row).to_header()
        return gauge_json(row)

    @app.patch("/gauges/{gauge_id}")
    def patch_gauge(
        gauge_id: int, patch: PatchBody, conditions: Preconditions, db: DB, response: Response
    ) -> Any:
        written = versioned_patch(db, Gauge, gauge_id, patch, conditions, document=gauge_json)
        db.commit()
        response.headers["ETag"] = written.etag.to_header()
        return gauge_json(written.row)

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

    @app.get("/peak-memory")
    def peak_memory() -> dict[str, int]:
        """The process's peak resident set so far, in KiB (Linux's ru_maxrss)."""
        return {"kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        """The size of a body the app reads itself (a file upload is the app's to bound)."""
        return {"size": len(await request.body())}

    @app.get("/search")
    def search(limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    return app
