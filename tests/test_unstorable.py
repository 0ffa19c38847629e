"""Values a database cannot hold, raised by real databases: a 422 each, other errors none."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from httpconflict._unstorable import unstorable_value

NOT_UTF8 = "\ud800"


def raised(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as error:  # what the database raised, as the app would meet it
        return error
    raise AssertionError("nothing was raised")


def test_sqlite_refuses_an_integer_past_64_bits_and_a_lone_surrogate(tmp_path: Path) -> None:
    """The standard library's driver, bare and under SQLAlchemy: both are 422s."""
    db = sqlite3.connect(tmp_path / "a.db")
    db.execute("CREATE TABLE t (n INTEGER, s TEXT)")
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as connection:
        for error in (
            raised(lambda: db.execute("INSERT INTO t (n) VALUES (?)", (10**19,))),
            raised(lambda: connection.execute(text("SELECT :n"), {"n": -(10**20)})),
            raised(lambda: connection.execute(text("SELECT :s"), {"s": NOT_UTF8})),
        ):
            refusal = unstorable_value(error)
            assert refusal is not None, repr(error)
            assert refusal.status == 422
            assert refusal.problem.type.endswith("/invalid-document")
            assert "incident" in refusal.problem.extensions


def test_the_apps_own_errors_are_not_the_databases() -> None:
    """A lone surrogate the app encodes itself, another OverflowError: None (the app's 500)."""
    assert unstorable_value(raised(lambda: NOT_UTF8.encode())) is None
    assert unstorable_value(raised(lambda: float(10**400))) is None
    assert unstorable_value(raised(lambda: 1 / 0)) is None


def test_postgresql_refuses_a_number_past_its_type(postgres_server: str) -> None:
    """22003 numeric_value_out_of_range is a 422."""
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as pg:
        refusal = unstorable_value(raised(lambda: pg.execute("SELECT 2147483648::int4")))
        assert refusal is not None
        assert refusal.status == 422


def test_postgresql_refuses_a_long_string_and_nul(postgres_server: str) -> None:
    """22001 (a string past varchar(n) on INSERT) and U+0000 in text (psycopg refuses it)."""
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as pg:
        pg.execute("CREATE TEMP TABLE t (s varchar(2))")
        too_long = raised(lambda: pg.execute("INSERT INTO t VALUES (%s)", ("abc",)))
        assert getattr(too_long, "sqlstate", None) == "22001"
        assert unstorable_value(too_long) is not None
        nul = raised(lambda: pg.execute("INSERT INTO t VALUES (%s)", ("a\x00",)))
        assert unstorable_value(nul) is not None, repr(nul)
        surrogate = raised(lambda: pg.execute("INSERT INTO t VALUES (%s)", (NOT_UTF8,)))
        assert unstorable_value(surrogate) is not None, repr(surrogate)


def test_mariadb_strict_mode_range_and_length(mariadb_database: dict[str, object]) -> None:
    """1264 (out of range) and 1406 (data too long) in strict mode: 422s."""
    import pymysql

    with pymysql.connect(**mariadb_database) as conn, conn.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
        cursor.execute("CREATE TABLE t (n TINYINT, s VARCHAR(2))")
        for statement in ("INSERT INTO t (n) VALUES (1000)", "INSERT INTO t (s) VALUES ('abc')"):
            refusal = unstorable_value(raised(functools.partial(cursor.execute, statement)))
            assert refusal is not None, statement
            assert refusal.status == 422
