"""Each driver's own errors, from real databases, classified with the right columns.

The catalog is read through the same driver (`load_catalog`, or
`aload_catalog` for asyncpg), so its queries are exercised by every driver.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from tests.integrity.databases import POSTGRES, Database, sqlite_connect
from tests.integrity.schema import CASES, Case, expected

from httpconflict import Catalog, Violation, classify
from httpconflict.catalog import aload_catalog, load_catalog

DRIVERS = {
    "sqlite3": "sqlite",
    "aiosqlite": "sqlite",
    "psycopg": "postgresql",
    "psycopg-async": "postgresql",
    "psycopg2": "postgresql",
    "asyncpg": "postgresql",
    "pymysql": "mysql",
    "mysqlclient": "mysql",
}


def _dbapi_connect(driver: str, database: Database) -> Any:
    if driver == "sqlite3":
        return sqlite_connect(database.sqlite_path)
    if driver == "psycopg":
        import psycopg

        return psycopg.connect(POSTGRES, options=f"-csearch_path={database.schema}")
    if driver == "psycopg2":
        import psycopg2

        return psycopg2.connect(POSTGRES, options=f"-csearch_path={database.schema}")
    if driver == "pymysql":
        import pymysql

        return pymysql.connect(**database.mysql)
    import MySQLdb

    args = dict(database.mysql)
    return MySQLdb.connect(**args)


def _failure_sync(driver: str, database: Database, sql: str) -> tuple[BaseException, Catalog]:
    conn = _dbapi_connect(driver, database)
    try:
        catalog = load_catalog(conn)
        cursor = conn.cursor()
        try:
            cursor.execute(sql)
        except Exception as error:
            return error, catalog
        finally:
            conn.rollback()
        raise AssertionError(f"{sql!r} did not fail")
    finally:
        conn.close()


async def _failure_asyncpg(database: Database, sql: str) -> tuple[BaseException, Catalog]:
    import asyncpg

    conn = await asyncpg.connect(
        user="postgres",
        host="127.0.0.1",
        database="test",
        server_settings={"search_path": database.schema},
    )
    try:
        catalog = await aload_catalog(conn)
        try:
            await conn.execute(sql)
        except Exception as error:
            return error, catalog
        raise AssertionError(f"{sql!r} did not fail")
    finally:
        await conn.close()


async def _failure_async_dbapi(
    driver: str, database: Database, sql: str
) -> tuple[BaseException, Catalog]:
    """psycopg's AsyncConnection and aiosqlite: execute() on the connection, awaited."""
    if driver == "aiosqlite":
        import aiosqlite

        conn: Any = await aiosqlite.connect(database.sqlite_path)
        await conn.execute("PRAGMA foreign_keys = ON")
    else:
        import psycopg

        options = f"-csearch_path={database.schema}"
        conn = await psycopg.AsyncConnection.connect(POSTGRES, options=options)
    try:
        catalog = await aload_catalog(conn)
        try:
            await conn.execute(sql)
        except Exception as error:
            return error, catalog
        finally:
            await conn.rollback()
        raise AssertionError(f"{sql!r} did not fail")
    finally:
        await conn.close()


def failure(driver: str, database: Database, sql: str) -> tuple[BaseException, Catalog]:
    """The error `sql` raises through `driver`, and the catalog read through it."""
    if driver == "asyncpg":
        return asyncio.run(_failure_asyncpg(database, sql))
    if driver in ("aiosqlite", "psycopg-async"):
        return asyncio.run(_failure_async_dbapi(driver, database, sql))
    return _failure_sync(driver, database, sql)


def check(violation: Violation | None, case: Case, dialect: str, *, statement_known: bool) -> None:
    assert violation is not None
    assert violation.dialect == dialect
    assert violation.kind is case.kind
    assert (violation.table, violation.columns, violation.referenced) == expected(
        dialect, case, statement_known=statement_known
    )
    if case.constraint is not None:
        assert violation.constraint == case.constraint


PAIRS = [
    (driver, case)
    for driver, dialect in DRIVERS.items()
    for case in CASES
    if dialect in case.dialects
]


@pytest.fixture(scope="module")
def databases(request: pytest.FixtureRequest) -> Callable[[str], Database]:
    fixtures = {
        "sqlite": "sqlite_database",
        "postgresql": "postgres_database",
        "mysql": "mysql_database",
    }

    def get(dialect: str) -> Database:
        value: Database = request.getfixturevalue(fixtures[dialect])
        return value

    return get


@pytest.mark.parametrize(("driver", "case"), PAIRS, ids=[f"{d}-{c.name}" for d, c in PAIRS])
def test_driver_error_is_classified(
    driver: str, case: Case, databases: Callable[[str], Database]
) -> None:
    dialect = DRIVERS[driver]
    module = {"mysqlclient": "MySQLdb", "psycopg-async": "psycopg"}.get(driver, driver)
    pytest.importorskip(module)
    error, catalog = failure(driver, databases(dialect), case.sql)
    check(catalog.complete(classify(error)), case, dialect, statement_known=False)  # type: ignore[arg-type]


def test_sqlite_error_codes_are_the_extended_ones(sqlite_database: Database) -> None:
    error, _ = failure("sqlite3", sqlite_database, CASES[0].sql)
    assert isinstance(error, sqlite3.IntegrityError)
    assert error.sqlite_errorcode == 2067  # SQLITE_CONSTRAINT_UNIQUE
    primary = next(case for case in CASES if case.name == "primary-key")
    # An INTEGER PRIMARY KEY is the rowid: SQLite reports it as a primary key.
    error, _ = failure("sqlite3", sqlite_database, primary.sql)
    assert isinstance(error, sqlite3.IntegrityError)
    assert error.sqlite_errorcode == 1555  # SQLITE_CONSTRAINT_PRIMARYKEY


def test_values_are_read_but_kept_apart(postgres_database: Database) -> None:
    two = next(case for case in CASES if case.name == "unique-two-columns")
    error, _ = failure("psycopg", postgres_database, two.sql)
    violation = classify(error)
    assert violation is not None
    assert violation.values == ("1", "a")
    assert "(tenant, slug)=(1, a)" in violation.message
