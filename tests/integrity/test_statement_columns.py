"""MariaDB's duplicate-key errors name a key, not its columns: SQLAlchemy's statement does.

"Duplicate entry 'b@x' for key 'uq_contact'" says which value, and which
index, but not which field, and Starlette, FastAPI and Flask apps have no
catalog unless they pass one: their 409 said ``"fields": []``. SQLAlchemy
keeps the failed statement and its parameters on its error: the column
whose parameter is the duplicate value (for a key of several columns, the
columns whose parameters joined by "-" are it) is the field, when exactly
one column (or one set of columns) fits. Real MariaDB, real SQLAlchemy
(PyMySQL and aiomysql), no catalog.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.integrity.databases import Database
from tests.integrity.schema import CASES
from tests.integrity.test_sqlalchemy import User, async_failure, sync_failure

from httpconflict import ViolationKind, classify

UNIQUE_CASES = [c for c in CASES if c.kind == ViolationKind.UNIQUE and "mysql" in c.dialects]


@pytest.mark.parametrize("case", UNIQUE_CASES, ids=[case.name for case in UNIQUE_CASES])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_duplicate_names_its_columns_without_a_catalog(
    mysql_database: Database, case: object, asynchronous: bool
) -> None:
    from tests.integrity.schema import Case

    assert isinstance(case, Case)
    failing = async_failure(mysql_database, case) if asynchronous else None
    error, _ = asyncio.run(failing) if failing is not None else sync_failure(mysql_database, case)
    violation = classify(error)
    assert violation is not None
    assert (violation.table, violation.columns) == ("users", case.columns)


def test_an_update_names_the_column_it_set(mysql_database: Database) -> None:
    from sqlalchemy import create_engine, update

    url, connect_args = mysql_database.sqlalchemy()
    engine = create_engine(url, connect_args=connect_args)
    try:
        with Session(engine) as session:
            session.add(User(id=2, email="b@x", tenant=2, slug="b", handle="Bob"))
            session.flush()
            try:
                session.execute(update(User).where(User.id == 2).values(email="a@x", slug="c"))
            except Exception as error:
                violation = classify(error)
            else:
                raise AssertionError("the update did not fail")
            session.rollback()
    finally:
        engine.dispose()
    assert violation is not None
    assert (violation.table, violation.columns) == ("users", ("email",))


def test_a_value_two_columns_share_names_none(mysql_database: Database) -> None:
    """The duplicate value is the parameter of two columns: which is not told, so none is named."""
    from sqlalchemy import create_engine

    url, connect_args = mysql_database.sqlalchemy()
    engine = create_engine(url, connect_args=connect_args)
    try:
        with Session(engine) as session:
            try:
                session.execute(
                    text(
                        "INSERT INTO users (id, email, tenant, slug, handle) "
                        "VALUES (:id, :email, :tenant, :slug, :handle)"
                    ),
                    {"id": 2, "email": "a@x", "tenant": 3, "slug": "a@x", "handle": "a@x"},
                )
            except Exception as error:
                violation = classify(error)
            else:
                raise AssertionError("the insert did not fail")
    finally:
        engine.dispose()
    assert violation is not None
    assert violation.columns == ()
