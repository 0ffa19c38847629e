"""`_outage` reads real drivers' errors: the database's failures are 503/504, the app's bugs not.

Each error is raised by a real driver against a real server (or a port no
server listens on), bare and under SQLAlchemy's and Django's wrappers.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from httpconflict import Unavailable, WriteOutcomeUnknown
from httpconflict.outage import Outage, OutageKind, outage, outage_error
from tests.servers import free_port


def raised(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: PT011  # any driver's error is the point
        action()
    return caught.value


def test_postgres_errors(postgres_server: str) -> None:
    """psycopg: refused, terminated, lock and statement timeouts; a missing table is no outage."""
    psycopg = pytest.importorskip("psycopg")
    port = free_port()
    refused = raised(lambda: psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/x"))
    assert outage(refused) == outage_kind(OutageKind.REFUSED, "postgresql")
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        victim = psycopg.connect(postgres_server, autocommit=True)
        conn.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        terminated = raised(lambda: victim.execute("SELECT 1"))
        assert outage(terminated) == outage_kind(OutageKind.LOST, "postgresql")
        closed = raised(lambda: victim.execute("SELECT 1"))  # the connection is closed
        assert outage(closed) == outage_kind(OutageKind.LOST, "postgresql")
        slow = raised(lambda: conn.execute("SET statement_timeout = 10; SELECT pg_sleep(1)"))
        assert outage(slow) == outage_kind(OutageKind.GAVE_UP, "postgresql")
        conn.execute("SET statement_timeout = 0")
        missing = raised(lambda: conn.execute("SELECT * FROM hc_no_such_table"))
        assert outage(missing) is None
        syntax = raised(lambda: conn.execute("SELEC 1"))
        assert outage(syntax) is None


def test_postgres_wrong_configuration_is_no_outage(postgres_server: str) -> None:
    """A database (or role) that does not exist is the app's configuration: no outage, a 500."""
    psycopg = pytest.importorskip("psycopg")
    wrong = postgres_server.rsplit("/", 1)[0] + "/hc_no_such_database"
    assert outage(raised(lambda: psycopg.connect(wrong))) is None


def test_psycopg2_refused_and_lost(postgres_server: str) -> None:
    """psycopg2 says neither with a SQLSTATE: its messages tell."""
    psycopg2 = pytest.importorskip("psycopg2")
    port = free_port()
    refused = raised(lambda: psycopg2.connect(f"postgresql://postgres@127.0.0.1:{port}/x"))
    assert outage(refused) == outage_kind(OutageKind.REFUSED, "postgresql")
    victim = psycopg2.connect(postgres_server)
    victim.autocommit = True
    killer = psycopg2.connect(postgres_server)
    killer.autocommit = True
    killer.cursor().execute("SELECT pg_terminate_backend(%s)", (victim.get_backend_pid(),))
    killer.close()
    lost = raised(lambda: victim.cursor().execute("SELECT 1"))
    assert outage(lost) == outage_kind(OutageKind.LOST, "postgresql")


def test_mariadb_errors(mariadb_server: dict[str, Any]) -> None:
    """PyMySQL and mysqlclient: refused (2003, 2002), KILLed (2013), a lock wait (1205)."""
    import pymysql

    mysqldb = pytest.importorskip("MySQLdb")
    port = free_port()
    drivers: tuple[Any, ...] = (pymysql, mysqldb)
    for driver in drivers:
        refused = raised(
            functools.partial(driver.connect, host="127.0.0.1", port=port, user="root")
        )
        assert outage(refused) == outage_kind(OutageKind.REFUSED, "mysql")
    server = {k: mariadb_server[k] for k in ("host", "port", "user", "password")}
    for driver in drivers:
        victim = driver.connect(**server)
        with victim.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID()")
            (connection_id,) = cursor.fetchone()
        with pymysql.connect(**server) as killer, killer.cursor() as cursor:
            cursor.execute(f"KILL {int(connection_id)}")
        lost = raised(functools.partial(victim.cursor().execute, "SELECT 1"))
        assert outage(lost) == outage_kind(OutageKind.LOST, "mysql")
    with pymysql.connect(**server) as first, pymysql.connect(**server) as second:
        with first.cursor() as a, second.cursor() as b:
            a.execute("CREATE DATABASE IF NOT EXISTS hc_outage")
            a.execute("CREATE TABLE IF NOT EXISTS hc_outage.locks (id INT PRIMARY KEY)")
            a.execute("INSERT IGNORE INTO hc_outage.locks VALUES (1)")
            first.commit()
            a.execute("SELECT * FROM hc_outage.locks WHERE id = 1 FOR UPDATE")
            b.execute("SET SESSION innodb_lock_wait_timeout = 1")
            waited = raised(lambda: b.execute("UPDATE hc_outage.locks SET id = 1 WHERE id = 1"))
            assert outage(waited) == outage_kind(OutageKind.GAVE_UP, "mysql")
            first.rollback()
            second.rollback()  # its metadata lock would hold the DROP up
            a.execute("DROP DATABASE hc_outage")
        missing = raised(lambda: first.cursor().execute("SELECT * FROM hc_no_such_table"))
        assert outage(missing) is None


def test_sqlite_busy_is_gave_up(tmp_path: Path) -> None:
    """A SQLite file locked by another writer past the timeout: the database gave up."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0.01, isolation_level=None)
    busy = raised(lambda: other.execute("BEGIN IMMEDIATE"))
    assert outage(busy) == outage_kind(OutageKind.GAVE_UP, "sqlite")
    assert outage(raised(lambda: other.execute("SELECT * FROM missing"))) is None
    holder.close()
    other.close()


def test_wrapped_by_sqlalchemy_and_pool_timeout(postgres_server: str) -> None:
    """SQLAlchemy's wrapper is read through; its pool's timeout is a refusal (no connection)."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    port = free_port()
    engine = sqlalchemy.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")
    refused = raised(engine.connect)
    assert outage(refused) == outage_kind(OutageKind.REFUSED, "postgresql")
    url = postgres_server.replace("postgresql://", "postgresql+psycopg://")
    small = sqlalchemy.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.01)
    with small.connect():
        assert outage(raised(small.connect)) == outage_kind(OutageKind.REFUSED, "pool")
    small.dispose()


@pytest.fixture(scope="module")
def errors(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real error of each kind: refused and lost (psycopg), gave up (SQLite busy)."""
    psycopg = pytest.importorskip("psycopg")
    refused = raised(lambda: psycopg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x"))
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        victim = psycopg.connect(postgres_server, autocommit=True)
        conn.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        lost = raised(lambda: victim.execute("SELECT 1"))
    path = tmp_path_factory.mktemp("busy") / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0.01, isolation_level=None)
    gave_up = raised(lambda: other.execute("BEGIN EXCLUSIVE"))
    holder.close()
    other.close()
    return {"refused": refused, "lost": lost, "gave-up": gave_up}


@pytest.mark.parametrize(
    ("kind", "method", "expected"),
    [
        pytest.param("lost", "GET", Unavailable, id="lost-read-503"),
        pytest.param("lost", "HEAD", Unavailable, id="lost-head-503"),
        pytest.param("lost", "PUT", WriteOutcomeUnknown, id="lost-write-504"),
        pytest.param("lost", "post", WriteOutcomeUnknown, id="lost-post-504"),
        pytest.param("refused", "POST", Unavailable, id="refused-write-503"),
        pytest.param("gave-up", "DELETE", Unavailable, id="gave-up-write-503"),
    ],
)
def test_answer_by_kind_and_method(
    errors: dict[str, Any], kind: str, method: str, expected: type[Exception]
) -> None:
    """A lost connection leaves a write's outcome unknown (504); everything else is a 503."""
    answer = outage_error(errors[kind], method)
    assert type(answer) is expected
    assert isinstance(answer, Unavailable | WriteOutcomeUnknown)
    assert answer.retry_after == 1
    assert answer.incident is not None


def outage_kind(kind: OutageKind, dialect: str) -> Outage:
    return Outage(kind, dialect)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        pytest.param("GET", Unavailable, id="read-503"),
        pytest.param("POST", WriteOutcomeUnknown, id="write-504"),
    ],
)
def test_after_the_handler_ran(
    errors: dict[str, Any], method: str, expected: type[Exception]
) -> None:
    """An outage after the handler ran leaves a write's outcome unknown, whatever its kind."""
    for kind in ("refused", "gave-up"):
        answer = outage_error(errors[kind], method, handler_ran=True)
        assert type(answer) is expected
