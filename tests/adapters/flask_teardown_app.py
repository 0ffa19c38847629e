"""A Flask app whose database session ends in a teardown, as Flask-SQLAlchemy's does.

Its views end their own PostgreSQL connection (``pg_terminate_backend``)
after they have formed their answer, as a restart or a failover does
between a view and its teardown; the teardown then closes the session on
a connection the server has closed. ``commit_on_teardown=True`` is the
app that commits in its teardown (Flask-SQLAlchemy 2's
``SQLALCHEMY_COMMIT_ON_TEARDOWN``): its views only flush.

- ``GET /page``: a page read from the database;
- ``POST /save``: one increment, committed; a 302 (read again after it);
- ``GET /count``: the count.

Served with ``create`` (``TEARDOWN_DATABASE``: a psycopg URL; ``COMMIT_ON_TEARDOWN=1``;
``COMMIT_HOOKS=0``: without importing `httpconflict.sqlalchemy`, which adds the commit hooks).
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from flask import Flask, redirect
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

from httpconflict.flask import install

if os.environ.get("COMMIT_HOOKS") != "0":
    # Its import adds the hooks that count commits; an app may not import it.
    import httpconflict.sqlalchemy  # noqa: F401


class Base(DeclarativeBase):
    pass


class Counter(Base):
    __tablename__ = "teardown_counter"
    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


def create() -> Flask:
    """The app as the environment says (for a server process)."""
    commit = os.environ.get("COMMIT_ON_TEARDOWN") == "1"
    return create_app(os.environ["TEARDOWN_DATABASE"], commit_on_teardown=commit)


def create_app(url: str, *, commit_on_teardown: bool = False) -> Flask:
    """The app on the PostgreSQL database at `url` (a psycopg conninfo URL)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    Base.metadata.create_all(engine)
    db = scoped_session(sessionmaker(engine))
    with db() as session:
        if session.get(Counter, 1) is None:
            session.add(Counter(id=1, count=0))
            session.commit()
    app = Flask(__name__)
    install(app)

    @app.teardown_appcontext
    def remove_session(_error: BaseException | None) -> None:
        if commit_on_teardown:
            db.commit()
        db.remove()

    def end_own_connection() -> None:
        pid = db.connection().connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    @app.get("/page")
    def page() -> str:
        count = db.scalar(select(Counter.count).where(Counter.id == 1))
        end_own_connection()
        return f"<p>count {count}</p>"

    @app.post("/save")
    def save() -> Any:
        db.execute(update(Counter).where(Counter.id == 1).values(count=Counter.count + 1))
        if not commit_on_teardown:
            db.commit()
            db.execute(text("SELECT 1"))  # read again after the commit, as views do
        end_own_connection()
        return redirect("/page", 302)

    @app.get("/count")
    def count() -> dict[str, int]:
        return {"count": db.scalar(select(Counter.count).where(Counter.id == 1)) or 0}

    return app
