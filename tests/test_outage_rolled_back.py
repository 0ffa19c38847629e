"""A transaction the database rolled back for a concurrent one is a 503, after the handler too.

Each error is raised by a real driver against a real server: a
SERIALIZABLE transaction whose COMMIT PostgreSQL refuses (40001), a
deadlock (PostgreSQL's 40P01, MariaDB's 1213), each bare and under
SQLAlchemy's wrapper. The database says that it rolled the whole
transaction back: nothing of it was applied, so a failure after the
request's handler ran (its COMMIT) is no outcome-unknown (504) but a 503
with Retry-After, whose key is released for the resend to run. What the
database does not say so of stays a 504 after the handler: MariaDB's lock
wait timeout (1205) rolls back the statement alone, SQLite's busy COMMIT
leaves the transaction open.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from httpconflict import Unavailable, WriteOutcomeUnknown
from httpconflict._outage import transaction_rolled_back
from httpconflict.outage import outage_error


def raised(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: PT011  # any driver's error is the point
        action()
    return caught.value


@pytest.fixture
def pg_table(postgres_schema: str) -> str:
    """A URL whose schema holds ``t (id int primary key, n int)`` with rows 1 and 2 at 0."""
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 0), (2, 0)")
    return postgres_schema


def _write_skew(connect: Callable[[], Any]) -> BaseException:
    """Two SERIALIZABLE transactions read both rows, write one each: the second COMMIT's error."""
    first, second = connect(), connect()
    for conn in (first, second):
        conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        conn.execute("SELECT sum(n) FROM t")
    first.execute("UPDATE t SET n = n + 1 WHERE id = 1")
    second.execute("UPDATE t SET n = n + 1 WHERE id = 2")
    first.execute("COMMIT")
    refused = raised(lambda: second.execute("COMMIT"))
    first.close()
    second.close()
    return refused


def _deadlock(connect: Callable[[], Any], begin: str = "BEGIN") -> BaseException:
    """Two transactions lock rows 1 and 2 in opposite orders: the victim's error."""
    first, second = connect(), connect()
    for conn in (first, second):
        conn.execute(begin)
    first.execute("UPDATE t SET n = n + 1 WHERE id = 1")
    second.execute("UPDATE t SET n = n + 1 WHERE id = 2")
    errors: list[BaseException] = []

    def cross(conn: Any, row: int) -> None:
        try:
            conn.execute(f"UPDATE t SET n = n + 1 WHERE id = {row}")
        except Exception as error:
            errors.append(error)
            conn.execute("ROLLBACK")
        else:
            conn.execute("COMMIT")

    with ThreadPoolExecutor(2) as pool:  # each waits for the other's row
        list(pool.map(cross, (first, second), (2, 1)))
    first.close()
    second.close()
    assert len(errors) == 1, errors
    return errors[0]


def _after_handler(error: BaseException) -> Unavailable | WriteOutcomeUnknown | None:
    return outage_error(error, "POST", handler_ran=True, committed=False)


def _is_conflict_503(error: BaseException) -> None:
    assert transaction_rolled_back(error), repr(error)
    answer = _after_handler(error)
    assert type(answer) is Unavailable, answer
    assert answer.retry_after == 1
    assert "nothing was applied" in str(answer.problem.detail)
    assert "concurrent" in str(answer.problem.detail)
    in_view = outage_error(error, "POST", committed=False)
    assert type(in_view) is Unavailable
    # A transaction of the request's that committed before: part of it was applied.
    assert type(outage_error(error, "POST", handler_ran=True, committed=True)) is (
        WriteOutcomeUnknown
    )


def test_postgres_serialization_failure_at_commit(pg_table: str) -> None:
    """40001 at COMMIT (psycopg 3, psycopg2, SQLAlchemy): rolled back, a 503 after the handler."""
    psycopg = pytest.importorskip("psycopg")
    psycopg2 = pytest.importorskip("psycopg2")
    sqlalchemy = pytest.importorskip("sqlalchemy")

    three = _write_skew(lambda: psycopg.connect(pg_table, autocommit=True))
    assert getattr(three, "sqlstate", None) == "40001", three
    _is_conflict_503(three)

    class Two:
        def __init__(self) -> None:
            self.conn = psycopg2.connect(pg_table)
            self.conn.autocommit = True

        def execute(self, sql: str) -> None:
            self.conn.cursor().execute(sql)

        def close(self) -> None:
            self.conn.close()

    two = _write_skew(Two)
    assert getattr(two, "pgcode", None) == "40001", two
    _is_conflict_503(two)

    engine = sqlalchemy.create_engine(
        pg_table.replace("postgresql://", "postgresql+psycopg://"), isolation_level="SERIALIZABLE"
    )
    try:
        first, second = engine.connect(), engine.connect()
        for conn in (first, second):
            conn.execute(sqlalchemy.text("SELECT sum(n) FROM t"))
        first.execute(sqlalchemy.text("UPDATE t SET n = n + 1 WHERE id = 1"))
        second.execute(sqlalchemy.text("UPDATE t SET n = n + 1 WHERE id = 2"))
        first.commit()
        wrapped = raised(second.commit)
        first.close()
        second.close()
    finally:
        engine.dispose()
    assert type(wrapped).__module__ == "sqlalchemy.exc", wrapped
    _is_conflict_503(wrapped)


def test_asyncpg_serialization_failure_at_commit(pg_table: str) -> None:
    """asyncpg's 40001 at COMMIT (its ``sqlstate``): rolled back, a 503 after the handler."""
    asyncpg = pytest.importorskip("asyncpg")

    async def skew() -> BaseException:
        first, second = await asyncpg.connect(pg_table), await asyncpg.connect(pg_table)
        try:
            for conn in (first, second):
                await conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                await conn.execute("SELECT sum(n) FROM t")
            await first.execute("UPDATE t SET n = n + 1 WHERE id = 1")
            await second.execute("UPDATE t SET n = n + 1 WHERE id = 2")
            await first.execute("COMMIT")
            try:
                await second.execute("COMMIT")
            except Exception as error:
                return error
            raise AssertionError("the second COMMIT went through")
        finally:
            await first.close()
            await second.close()

    error = asyncio.run(skew())
    assert getattr(error, "sqlstate", None) == "40001", error
    _is_conflict_503(error)


def test_postgres_deadlock(pg_table: str) -> None:
    """40P01: PostgreSQL rolled the victim's transaction back: a 503 after the handler."""
    psycopg = pytest.importorskip("psycopg")
    error = _deadlock(lambda: psycopg.connect(pg_table, autocommit=True))
    assert getattr(error, "sqlstate", None) == "40P01", error
    _is_conflict_503(error)


def test_postgres_unique_violation_is_no_outage(pg_table: str) -> None:
    """23505 (the 409 of `_integrity`): neither an outage nor a rolled-back conflict."""
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(pg_table, autocommit=True) as conn:
        duplicate = raised(lambda: conn.execute("INSERT INTO t VALUES (1, 0)"))
    assert not transaction_rolled_back(duplicate)
    assert _after_handler(duplicate) is None


@pytest.fixture
def maria_table(mariadb_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Connection arguments of a database of the test's own holding ``t`` (InnoDB) at 0."""
    pymysql = pytest.importorskip("pymysql")
    name = f"hc_rollback503_{uuid.uuid4().hex[:8]}"
    server = {k: mariadb_server[k] for k in ("host", "port", "user", "password")}
    with pymysql.connect(**server, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
        cursor.execute(f"CREATE TABLE {name}.t (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB")
        cursor.execute(f"INSERT INTO {name}.t VALUES (1, 0), (2, 0)")
    try:
        yield {**server, "database": name}
    finally:
        with pymysql.connect(**server, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {name}")


class _Maria:
    """A PyMySQL or mysqlclient connection with ``execute`` (autocommit, transactions begun)."""

    def __init__(self, driver: Any, arguments: dict[str, Any]) -> None:
        self.conn = driver.connect(**arguments, autocommit=True)

    def execute(self, sql: str) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute(sql)

    def close(self) -> None:
        self.conn.close()


def test_mariadb_deadlock(maria_table: dict[str, Any]) -> None:
    """1213 (PyMySQL, mysqlclient): InnoDB rolled the whole transaction back: a 503."""
    import pymysql

    drivers: list[Any] = [pymysql]
    try:
        import MySQLdb

        drivers.append(MySQLdb)
    except ImportError:
        pass
    for driver in drivers:
        error = _deadlock(functools.partial(_Maria, driver, maria_table))
        assert error.args[0] == 1213, error
        _is_conflict_503(error)


def test_mariadb_lock_wait_timeout_stays_504(maria_table: dict[str, Any]) -> None:
    """1205 rolls back only the statement: after the handler, the outcome stays unknown (504)."""
    import pymysql

    holder, waiter = _Maria(pymysql, maria_table), _Maria(pymysql, maria_table)
    holder.execute("BEGIN")
    holder.execute("UPDATE t SET n = n + 1 WHERE id = 1")
    waiter.execute("SET SESSION innodb_lock_wait_timeout = 1")
    waiter.execute("BEGIN")
    waiter.execute("UPDATE t SET n = n + 1 WHERE id = 2")
    timeout = raised(lambda: waiter.execute("UPDATE t SET n = n + 1 WHERE id = 1"))
    # The statement alone was rolled back: the transaction's first write is still there.
    waiter.execute("COMMIT")
    holder.execute("ROLLBACK")
    with pymysql.connect(**maria_table) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT n FROM t WHERE id = 2")
        assert cursor.fetchone() == (1,)
    holder.close()
    waiter.close()
    assert timeout.args[0] == 1205, timeout
    assert not transaction_rolled_back(timeout)
    assert type(_after_handler(timeout)) is WriteOutcomeUnknown
    assert type(outage_error(timeout, "POST", committed=False)) is Unavailable  # in the view


def test_sqlite_busy_commit_stays_504(tmp_path: Path) -> None:
    """SQLite's busy COMMIT leaves its transaction open (a COMMIT again applies it): 504 after."""
    path = tmp_path / "busy.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.execute("INSERT INTO t VALUES (0)")
    setup.close()
    reader = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT n FROM t").fetchall()  # a SHARED lock: no COMMIT can write now
    writer.execute("BEGIN")
    writer.execute("UPDATE t SET n = 1")
    busy = raised(lambda: writer.execute("COMMIT"))
    assert writer.in_transaction  # not rolled back
    reader.execute("COMMIT")
    writer.execute("COMMIT")  # the same transaction, applied by a COMMIT again
    assert reader.execute("SELECT n FROM t").fetchone() == (1,)
    reader.close()
    writer.close()
    assert "locked" in str(busy), busy
    assert not transaction_rolled_back(busy)
    assert type(_after_handler(busy)) is WriteOutcomeUnknown


def _busy_commit(tmp_path: Path) -> tuple[sqlite3.Connection, sqlite3.Connection, BaseException]:
    """A reader, a writer whose COMMIT it kept out (busy, still open), and that COMMIT's error."""
    path = tmp_path / "told.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (n INTEGER)")
    reader = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (1)")
    return reader, writer, raised(lambda: writer.execute("COMMIT"))


def test_sqlite_busy_commit_told_rolled_back_is_503(tmp_path: Path) -> None:
    """A busy COMMIT the hooks saw rolled back: 503 after the handler, saying so; else 504."""
    from httpconflict._request_writes import note_commit_failed, watching_writes

    reader, writer, busy = _busy_commit(tmp_path)
    writer.execute("ROLLBACK")
    with watching_writes():
        note_commit_failed(busy, undone=True)
        answer = outage_error(busy, "PUT", handler_ran=True)
        assert type(answer) is Unavailable
        assert "refused the request's COMMIT" in str(answer.problem.detail)
    with watching_writes():  # another request: nothing told of this error
        assert type(outage_error(busy, "PUT", handler_ran=True)) is WriteOutcomeUnknown
    reader.close()
    writer.close()


def test_sqlite_busy_commit_left_open_is_504_in_the_handler_too(tmp_path: Path) -> None:
    """A busy COMMIT whose transaction no ROLLBACK ended may be committed yet: 504, in the view too.

    Before: 503 in the view, and a COMMIT after it applied the write.
    """
    from httpconflict._request_writes import note_commit_failed, watching_writes

    reader, writer, busy = _busy_commit(tmp_path)
    with watching_writes():
        note_commit_failed(busy, undone=False)
        assert type(outage_error(busy, "PUT")) is WriteOutcomeUnknown
        assert type(outage_error(busy, "GET")) is Unavailable
    reader.execute("COMMIT")
    writer.execute("COMMIT")  # the app's COMMIT again: applied
    assert reader.execute("SELECT n FROM t").fetchall() == [(1,)]
    reader.close()
    writer.close()


def test_a_full_disk_at_commit_told_rolled_back_stays_504(tmp_path: Path) -> None:
    """SQLITE_FULL at COMMIT is no refusal (the file may be written): 504 after the handler."""
    from httpconflict._request_writes import note_commit_failed, watching_writes

    db = sqlite3.connect(tmp_path / "full.db", isolation_level=None)
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute("PRAGMA max_page_count = 3")
    full = raised(lambda: db.execute("INSERT INTO t VALUES (?)", ("x" * 20_000,)))
    db.close()
    with watching_writes():
        note_commit_failed(full, undone=True)
        assert type(outage_error(full, "PUT", handler_ran=True)) is WriteOutcomeUnknown
