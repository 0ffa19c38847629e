"""The same violations through SQLAlchemy's ORM, sync and async, on each database.

SQLAlchemy wraps the driver's error (``IntegrityError.orig``) and keeps the
failed statement, which names the table where the database did not.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import Integer, String, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from tests.integrity.databases import Database
from tests.integrity.schema import CASES, Case, expected
from tests.integrity.test_drivers import check

from httpconflict import Catalog, classify
from httpconflict.catalog import aload_catalog, load_catalog


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(String(100))
    tenant: Mapped[int | None]
    slug: Mapped[str | None] = mapped_column(String(50))
    handle: Mapped[str | None] = mapped_column(String(50))


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None]
    price: Mapped[int | None]
    qty: Mapped[int | None]


MODELS: dict[str, type[Base]] = {"users": User, "orders": Order}


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _write(session: Session, case: Case) -> None:
    if case.row is not None:
        table, values = case.row
        session.add(MODELS[table](**values))
    elif case.sql.startswith("DELETE"):
        session.delete(session.get(User, 1))
    else:
        session.execute(text(case.sql))
    session.flush()


def sync_failure(database: Database, case: Case) -> tuple[BaseException, Catalog]:
    from sqlalchemy import create_engine

    url, connect_args = database.sqlalchemy()
    engine = create_engine(url, connect_args=connect_args)
    if database.dialect == "sqlite":
        event.listen(engine, "connect", _foreign_keys_on)
    try:
        catalog = load_catalog(engine)
        with Session(engine) as session:
            try:
                _write(session, case)
            except DBAPIError as error:
                return error, catalog
        raise AssertionError(f"{case.name} did not fail")
    finally:
        engine.dispose()


async def async_failure(database: Database, case: Case) -> tuple[BaseException, Catalog]:
    url, connect_args = database.sqlalchemy(asynchronous=True)
    engine = create_async_engine(url, connect_args=connect_args)
    if database.dialect == "sqlite":
        event.listen(engine.sync_engine, "connect", _foreign_keys_on)
    try:
        catalog = await aload_catalog(engine)
        async with AsyncSession(engine) as session:
            try:
                await session.run_sync(_write, case)
            except DBAPIError as error:
                return error, catalog
        raise AssertionError(f"{case.name} did not fail")
    finally:
        await engine.dispose()


PAIRS = [
    (dialect, case)
    for dialect in ("sqlite", "postgresql", "mysql")
    for case in CASES
    if dialect in case.dialects
]
IDS = [f"{dialect}-{case.name}" for dialect, case in PAIRS]


@pytest.mark.parametrize(("dialect", "case"), PAIRS, ids=IDS)
def test_sqlalchemy_orm_error_is_classified(
    dialect: str, case: Case, request: pytest.FixtureRequest
) -> None:
    database = _database(dialect, request)
    error, catalog = sync_failure(database, case)
    violation = classify(error)
    check(catalog.complete(violation) if violation else None, case, dialect, statement_known=True)


@pytest.mark.parametrize(("dialect", "case"), PAIRS, ids=IDS)
def test_sqlalchemy_async_orm_error_is_classified(
    dialect: str, case: Case, request: pytest.FixtureRequest
) -> None:
    database = _database(dialect, request)
    error, catalog = asyncio.run(async_failure(database, case))
    violation = classify(error)
    check(catalog.complete(violation) if violation else None, case, dialect, statement_known=True)


def test_the_wrapper_is_read_through_to_the_driver(request: pytest.FixtureRequest) -> None:
    database = _database("postgresql", request)
    error, _ = sync_failure(database, CASES[0])
    assert type(error).__module__ == "sqlalchemy.exc"
    violation = classify(error)
    assert violation is not None
    assert violation.constraint == "users_email_key"  # only the driver's error says so
    assert expected("postgresql", CASES[0], statement_known=True)[0] == violation.table


def _database(dialect: str, request: pytest.FixtureRequest) -> Database:
    fixture = {"sqlite": "sqlite_database", "postgresql": "postgres_database"}.get(
        dialect, "mysql_database"
    )
    value: Database = request.getfixturevalue(fixture)
    return value
