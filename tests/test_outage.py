"""`_outage` reads real drivers' errors: the database's failures are 503/504, the app's bugs not.

Each error is raised by a real driver against a real server (or a port no
server listens on), bare and under SQLAlchemy's and Django's wrappers.
"""

from __future__ import annotations

import functools
import os
import pwd
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from httpconflict import Unavailable, WriteOutcomeUnknown
from httpconflict.outage import Outage, OutageKind, outage, outage_error
from tests.servers import free_port
from tests.tiny_disk import tiny_disk


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


def test_postgres_idle_sessions_ended(postgres_server: str) -> None:
    """A session the server ended for idling (idle_session_timeout, in a transaction): 503/504."""
    psycopg = pytest.importorskip("psycopg")
    for setting, autocommit, kind in (
        ("idle_session_timeout", True, OutageKind.LOST),
        ("idle_in_transaction_session_timeout", False, OutageKind.GAVE_UP),
    ):
        with psycopg.connect(postgres_server, autocommit=autocommit) as conn:
            conn.execute(f"SET {setting} = '50ms'")
            conn.execute("SELECT 1")  # without autocommit: a transaction left open
            time.sleep(0.3)
            ended = raised(functools.partial(conn.execute, "SELECT 1"))
        assert outage(ended) == outage_kind(kind, "postgresql"), (setting, ended)


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


FULL = "the database's disk is full: the request was rolled back"


def test_sqlite_full_gave_up_and_says_why(tmp_path: Path) -> None:
    """SQLITE_FULL (a file at its size limit): rolled back, a 503 saying the disk is full."""
    db = sqlite3.connect(tmp_path / "full.db", isolation_level=None)
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute("PRAGMA max_page_count = 3")
    full = raised(lambda: db.execute("INSERT INTO t VALUES (?)", ("x" * 20_000,)))
    assert outage(full) == Outage(OutageKind.GAVE_UP, "sqlite", "the database's disk is full")
    for method in ("GET", "PUT"):  # nothing was applied: 503 for a write too
        answer = outage_error(full, method)
        assert isinstance(answer, Unavailable)
        assert answer.problem.detail == FULL
    db.close()


def test_sqlite_io_error_is_lost(tmp_path: Path) -> None:
    """SQLITE_IOERR (a write the file system refused: past RLIMIT_FSIZE): lost, 504 for a write."""
    script = f"""
import resource, sqlite3
from httpconflict._outage import outage
db = sqlite3.connect({str(tmp_path / "io.db")!r}, isolation_level=None)
db.execute("CREATE TABLE t (x TEXT)")
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
try:
    db.execute("INSERT INTO t VALUES (?)", ("x" * 50_000,))
except sqlite3.OperationalError as error:
    print(error.sqlite_errorname, outage(error))
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert ran.stdout.split(" ", 1)[0].startswith("SQLITE_IOERR"), ran.stdout + ran.stderr
    reason = "the database could not write to its disk (an I/O error)"
    assert repr(Outage(OutageKind.LOST, "sqlite", reason)) in ran.stdout


def test_mariadb_table_full(mariadb_server: dict[str, Any]) -> None:
    """1114 "The table is full" (a MEMORY table past max_heap_table_size): 503, saying so."""
    import pymysql

    server = {k: mariadb_server[k] for k in ("host", "port", "user", "password")}
    with pymysql.connect(**server) as conn, conn.cursor() as cursor:
        cursor.execute("SET SESSION max_heap_table_size = 16384")
        cursor.execute("CREATE TEMPORARY TABLE test.hc_heap (x CHAR(255)) ENGINE=MEMORY")
        insert = "INSERT INTO test.hc_heap VALUES (REPEAT('x', 255))"
        full = raised(lambda: [cursor.execute(insert) for _ in range(10_000)])
        assert full.args[0] == 1114, full
        found = outage(full)
        assert found is not None
        assert (found.kind, found.dialect) == (OutageKind.GAVE_UP, "mysql")
        answer = outage_error(full, "POST")
        assert isinstance(answer, Unavailable)
        assert "a table of the database is full" in str(answer.problem.detail)


def test_postgres_disk_full(postgres_server: str) -> None:
    """53100 disk_full (a table in a tablespace on a full disk): rolled back, a 503 saying so."""
    psycopg = pytest.importorskip("psycopg")
    with tiny_disk(megabytes=2) as disk:
        location = disk / "tablespace"
        location.mkdir()
        owner = pwd.getpwnam("postgres")
        os.chown(location, owner.pw_uid, owner.pw_gid)
        name = f"hc_tiny_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {name} LOCATION '{location}'")
            try:
                conn.execute(f"CREATE TABLE {name} (x text) TABLESPACE {name}")
                insert = f"INSERT INTO {name} SELECT md5(g::text) FROM generate_series(1, 200000) g"
                full = raised(lambda: conn.execute(insert))
                assert getattr(full, "sqlstate", None) == "53100", full
                assert outage(full) == Outage(OutageKind.GAVE_UP, "postgresql", FULL.split(":")[0])
                answer = outage_error(full, "PUT")
                assert isinstance(answer, Unavailable)
                assert answer.problem.detail == FULL
            finally:
                conn.execute(f"DROP TABLE IF EXISTS {name}")
                conn.execute(f"DROP TABLESPACE {name}")


READ_ONLY = "the database is read-only (a replica, or its disk or settings read-only)"


def test_postgres_read_only_is_refused(postgres_server: str) -> None:
    """25006 (a hot standby after a failover, a primary set read-only): refused, 503 saying so."""
    psycopg = pytest.importorskip("psycopg")
    options = "-c default_transaction_read_only=on"
    with psycopg.connect(postgres_server, autocommit=True, options=options) as replica:
        refused = raised(lambda: replica.execute("CREATE TEMPORARY TABLE hc_ro (x int)"))
    assert getattr(refused, "sqlstate", None) == "25006", refused
    assert outage(refused) == Outage(OutageKind.REFUSED, "postgresql", READ_ONLY)
    answer = outage_error(refused, "POST")  # nothing ran: a 503 for a write
    assert isinstance(answer, Unavailable)
    assert not isinstance(answer, WriteOutcomeUnknown)
    assert answer.problem.detail == READ_ONLY


def test_sqlite_read_only_is_refused(tmp_path: Path) -> None:
    """SQLITE_READONLY (a file opened read-only: its file system, its mode): refused, 503."""
    path = tmp_path / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    refused = raised(lambda: db.execute("INSERT INTO t VALUES (1)"))
    assert outage(refused) == Outage(OutageKind.REFUSED, "sqlite", READ_ONLY)
    db.close()


def test_mariadb_read_only_is_refused(private_mariadb: dict[str, Any]) -> None:
    """1290 "running with the --read-only option" (a replica, Aurora's reader): refused, 503.

    On a server of the test's own: setting read_only takes the global read
    lock, which on the shared server held up other tests' transactions.
    The server is read-only for users without READ ONLY ADMIN (the test's).
    """
    import pymysql

    server = private_mariadb
    user = f"hc_ro_{uuid.uuid4().hex[:8]}"
    with pymysql.connect(**server, autocommit=True) as admin, admin.cursor() as cursor:
        cursor.execute("CREATE DATABASE test")
        cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'x'")
        cursor.execute(f"GRANT ALL PRIVILEGES ON test.* TO '{user}'@'%'")
        cursor.execute(f"REVOKE READ_ONLY ADMIN ON *.* FROM '{user}'@'%'")
        try:
            with pymysql.connect(**{**server, "user": user, "password": "x"}) as conn:
                cursor.execute("SET GLOBAL read_only = ON")
                try:
                    create = "CREATE TABLE test.hc_ro (x INT)"
                    refused = raised(lambda: conn.cursor().execute(create))
                finally:
                    cursor.execute("SET GLOBAL read_only = OFF")
        finally:
            cursor.execute(f"DROP USER '{user}'@'%'")
    assert refused.args[0] == 1290, refused
    assert outage(refused) == Outage(OutageKind.REFUSED, "mysql", READ_ONLY)
    secure_file = pymysql.err.InternalError(
        1290, "The MariaDB server is running with the --secure-file-priv option so it cannot"
    )
    assert outage(secure_file) is None  # another option: the app's statement
