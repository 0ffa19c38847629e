"""`save_form` in the caller's transaction: what it leaves to commit, on real databases.

The served tests (test_flask_forms.py) commit after each save; these
look at the transaction itself: a rollback after `save_form` undoes it
(on SQLite too, where pysqlite's SAVEPOINT outside a transaction was a
commit of its own), a refused save leaves nothing of the row to commit,
and the view's own changes to the row go in the guarded statement.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import ForeignKey, String, create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from werkzeug.datastructures import MultiDict
from wtforms import Form, IntegerField, StringField

from httpconflict.flask.forms import VersionedFormMixin, save_form


class Base(DeclarativeBase):
    pass


class Owner(Base):
    __tablename__ = "form_owners"
    id: Mapped[int] = mapped_column(primary_key=True)


class Tally(Base):
    __tablename__ = "form_tallies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    count: Mapped[int] = mapped_column(default=0)
    edited_by: Mapped[str] = mapped_column(String(50), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("form_owners.id"))
    owner: Mapped[Owner | None] = relationship()
    version: Mapped[int] = mapped_column(default=1)


class TallyForm(VersionedFormMixin, Form):  # type: ignore[misc]  # WTForms has no type hints
    name = StringField("Name")
    count = IntegerField("Count")


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """A fresh database with one tally (version 1, count 0)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/tallies.db"
    elif request.param == "postgres":
        schema: str = request.getfixturevalue("postgres_schema")
        url = schema.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = request.getfixturevalue("mariadb_url")
    found = create_engine(url)
    Base.metadata.create_all(found)
    with Session(found) as session, session.begin():
        session.add(Tally(name="one"))  # id 1: from the sequence, which the next insert uses
    yield found
    found.dispose()


def _stored(engine: Engine) -> tuple[int, int, str, int]:
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(Tally))
        one = session.get(Tally, 1)
        assert one is not None
        assert rows is not None
        return rows, one.count, one.edited_by, one.version


def test_a_rollback_after_a_saved_insert_undoes_it(engine: Engine) -> None:
    """The insert ran in the caller's transaction: rolled back, no row (SQLite included)."""
    with Session(engine) as session:
        assert save_form(session, TallyForm(MultiDict({"name": "two", "count": "0"})), Tally())
        session.rollback()
    assert _stored(engine) == (1, 0, "", 1)


def test_a_rollback_after_a_saved_update_undoes_it(engine: Engine) -> None:
    """The guarded UPDATE too."""
    with Session(engine) as session:
        row = session.get(Tally, 1)
        form = TallyForm(MultiDict({"name": "one", "count": "5", "version": "1"}), obj=row)
        assert save_form(session, form, row)
        assert row is not None
        assert row.version == 2  # the row as written
        session.rollback()
    assert _stored(engine) == (1, 0, "", 1)


def test_the_view_s_own_changes_go_in_the_guarded_update(engine: Engine) -> None:
    """Set by the view before the call: written with the form's values, or not at all."""
    with Session(engine) as session:
        row = session.get(Tally, 1)
        assert row is not None
        row.edited_by = "ann"
        form = TallyForm(MultiDict({"name": "one", "count": "5", "version": "1"}), obj=row)
        assert save_form(session, form, row)
        session.commit()
    assert _stored(engine) == (1, 5, "ann", 2)
    with Session(engine) as session:
        row = session.get(Tally, 1)
        assert row is not None
        row.edited_by = "bob"
        stale = TallyForm(MultiDict({"name": "one", "count": "6", "version": "1"}), obj=row)
        assert not save_form(session, stale, row)
        assert stale.version.data == 2
        session.commit()  # a view that commits anyway: nothing of the refused save is in it
    assert _stored(engine) == (1, 5, "ann", 2)


def test_a_duplicate_leaves_the_transaction_usable(engine: Engine) -> None:
    """The refused insert rolled back to its SAVEPOINT: what the caller did before stays."""
    with Session(engine) as session:
        row = session.get(Tally, 1)
        form = TallyForm(MultiDict({"name": "one", "count": "3", "version": "1"}), obj=row)
        assert save_form(session, form, row)
        duplicate = TallyForm(MultiDict({"name": "one", "count": "0"}))
        assert not save_form(session, duplicate, Tally())
        assert duplicate.errors == {"name": ["Another record already has this value for Name."]}
        session.commit()
    assert _stored(engine) == (1, 3, "", 2)


def test_a_changed_relationship_is_refused(engine: Engine) -> None:
    """It would be flushed unguarded: a TypeError saying to give the form the foreign key."""
    with Session(engine) as session:
        row = session.get(Tally, 1)
        assert row is not None
        row.owner = Owner(id=1)
        form = TallyForm(MultiDict({"name": "one", "count": "3", "version": "1"}), obj=row)
        with pytest.raises(TypeError, match="foreign key"):
            save_form(session, form, row)
        session.rollback()
    assert _stored(engine) == (1, 0, "", 1)
