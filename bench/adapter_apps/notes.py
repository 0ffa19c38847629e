"""The notes table for the SQLAlchemy apps (FastAPI, Flask), and its engine.

Both sides of both apps use this engine: SQLite in WAL mode with
synchronous=NORMAL (like bench/baseline_app.py and the service), the notes
created on start.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    count: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)  # the ETag is "<version>"


def engine(path: str, notes: int) -> Engine:
    """The engine on `path`, with notes 0 to `notes` - 1 created if missing."""
    created = create_engine(f"sqlite:///{path}")

    @event.listens_for(created, "connect")
    def _pragmas(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    Base.metadata.create_all(created)
    with created.begin() as connection:
        present = set(connection.scalars(select(Note.id)))
        missing = [
            {"id": k, "title": "benchmark note", "count": 0, "version": 1}
            for k in range(notes)
            if k not in present
        ]
        if missing:
            connection.execute(insert(Note), missing)
    return created
