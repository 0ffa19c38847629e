"""Writes held in a PostgreSQL transaction block: which count as pending, and when a lost
connection proves that nothing was applied (real psycopg and psycopg2 connections)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from httpconflict._errors import Unavailable, WriteOutcomeUnknown
from httpconflict._outage import outage_error
from httpconflict._request_writes import (
    note_commit_sent,
    note_failure,
    note_statement,
    rolled_back_on,
    watching_writes,
)
from httpconflict._session_transactions import (
    TransactionState,
    ends_transaction,
    held_until_commit,
    transaction_state,
)

psycopg = pytest.importorskip("psycopg")

INSERT = "INSERT INTO t (n) VALUES (%s)"


@pytest.mark.parametrize(
    ("statement", "held"),
    [
        pytest.param(INSERT, True, id="insert"),
        pytest.param(
            'INSERT INTO "keyed_orders" ("request_key") VALUES (%s) RETURNING "keyed_orders"."id"',
            True,
            id="django-insert",
        ),
        pytest.param("UPDATE t SET n = %s, v = v + 1 WHERE id = 1 AND v = %s", True, id="update"),
        pytest.param("DELETE FROM t WHERE id IN (1, 2)", True, id="delete"),
        pytest.param(
            "INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET n = lower(t.s)",
            True,
            id="upsert-calling-the-databases-own",
        ),
        pytest.param(
            "INSERT INTO t (id) VALUES (nextval('s'))", False, id="nextval-outlives-a-rollback"
        ),
        pytest.param(
            "SELECT dblink_exec('other', 'INSERT INTO x VALUES (1)')", False, id="select-function"
        ),
        pytest.param(
            "UPDATE t SET n = audit_and_count(n)", False, id="app-function-may-write-elsewhere"
        ),
        pytest.param("INSERT INTO t VALUES (1); COMMIT", False, id="two-statements"),
        pytest.param("COPY t TO PROGRAM 'touch /tmp/x'", False, id="copy"),
        pytest.param("CALL place_order(1)", False, id="call"),
        pytest.param("CREATE TABLE x (id int)", False, id="ddl"),
    ],
)
def test_held_until_commit(statement: str, held: bool) -> None:
    """Only a plain DML statement calling only the databases' own functions waits for COMMIT."""
    assert held_until_commit(statement) is held


@pytest.mark.parametrize(
    ("statement", "ends"),
    [
        pytest.param("COMMIT", True, id="commit"),
        pytest.param("  commit work", True, id="commit-work"),
        pytest.param("END", True, id="end"),
        pytest.param("PREPARE TRANSACTION 'x'", True, id="two-phase-prepare"),
        pytest.param("ROLLBACK", True, id="rollback-in-doubt"),
        pytest.param("ROLLBACK TO SAVEPOINT s1", False, id="rollback-to-savepoint"),
        pytest.param("RELEASE SAVEPOINT s1", False, id="release-savepoint"),
        pytest.param("SAVEPOINT s1", False, id="savepoint"),
        pytest.param("SELECT 1", False, id="select"),
    ],
)
def test_ends_transaction(statement: str, ends: bool) -> None:
    """COMMIT, END, PREPARE TRANSACTION and ROLLBACK end the block; a savepoint's do not."""
    assert ends_transaction(statement) is ends


@pytest.fixture
def connect(postgres_server: str) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def open_one(*, autocommit: bool, driver: str = "psycopg") -> Any:
        if driver == "psycopg2":
            psycopg2 = pytest.importorskip("psycopg2")
            conn = psycopg2.connect(postgres_server)
            conn.autocommit = autocommit
        else:
            conn = psycopg.connect(postgres_server, autocommit=autocommit)
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_transaction_state_read_from_the_driver(connect: Callable[..., Any], driver: str) -> None:
    """Autocommit, a block to begin, a block begun (by the driver or a BEGIN), closed: unknown."""
    auto = connect(autocommit=True, driver=driver)
    assert transaction_state(auto) is TransactionState.AUTOCOMMIT
    auto.cursor().execute("BEGIN")
    assert transaction_state(auto) is TransactionState.IN_TRANSACTION
    manual = connect(autocommit=False, driver=driver)
    assert transaction_state(manual) is TransactionState.WILL_BEGIN
    manual.cursor().execute("SELECT 1")
    assert transaction_state(manual) is TransactionState.IN_TRANSACTION
    manual.commit()
    assert transaction_state(manual) is TransactionState.WILL_BEGIN
    manual.close()
    assert transaction_state(manual) is not TransactionState.IN_TRANSACTION
    assert transaction_state(object(), autocommit=False) is TransactionState.UNKNOWN


def _lost() -> BaseException:
    lost: BaseException = psycopg.OperationalError("server closed the connection unexpectedly")
    return lost


def _answer(lost: BaseException) -> int:
    decided = outage_error(lost, "POST")
    assert isinstance(decided, Unavailable | WriteOutcomeUnknown)
    assert decided.problem.status is not None
    return decided.problem.status


def _run(work: Callable[[], None]) -> None:
    contextvars.Context().run(work)


def test_a_write_held_on_the_lost_connection_is_a_503(connect: Callable[..., Any]) -> None:
    """INSERT and UPDATE in the block of the connection lost under its next statement: 503."""
    conn = connect(autocommit=False)

    def run() -> None:
        with watching_writes() as record:
            note_statement(INSERT, conn, vendor="postgresql")  # the driver begins the block
            conn.execute("SELECT 1")
            note_statement("UPDATE t SET n = 2", conn, vendor="postgresql")
            note_statement("SELECT n FROM t", conn, vendor="postgresql")
            lost = _lost()
            note_failure(lost, conn)
            assert (record.sent, len(record.pending)) == (0, 1)
            assert rolled_back_on(lost) is lost
            assert _answer(lost) == 503

    _run(run)


def _commit_sent(conn: Any, _: Any) -> None:
    note_commit_sent(conn)


def _commit_as_text(conn: Any, _: Any) -> None:
    note_statement("COMMIT", conn, vendor="postgresql")


def _commit_unseen(conn: Any, _: Any) -> None:
    conn.commit()  # the driver's own: seen at the next statement, out of the block
    note_statement("SELECT 1", conn, vendor="postgresql")


def _prepared(conn: Any, _: Any) -> None:
    note_statement("PREPARE TRANSACTION 'x'", conn, vendor="postgresql")


def _pending_elsewhere(_: Any, other: Any) -> None:
    note_statement(INSERT, other, vendor="postgresql")


def _mysql_write(conn: Any, _: Any) -> None:
    note_statement(INSERT, conn, vendor="mysql")


def _unknown_driver(_: Any, __: Any) -> None:
    note_statement(INSERT, object(), vendor="postgresql")


def _no_connection_told(_: Any, __: Any) -> None:
    note_statement(INSERT)


def _autocommit_write(_: Any, other: Any) -> None:
    other.autocommit = True
    note_statement(INSERT, other, vendor="postgresql")


@pytest.mark.parametrize(
    "then",
    [
        pytest.param(_commit_sent, id="commit-sent"),
        pytest.param(_commit_as_text, id="commit-as-text"),
        pytest.param(_commit_unseen, id="driver-commit-no-hook-saw"),
        pytest.param(_prepared, id="two-phase-prepare"),
        pytest.param(_pending_elsewhere, id="a-write-pending-on-another-connection"),
        pytest.param(_mysql_write, id="mysql"),
        pytest.param(_unknown_driver, id="unknown-driver"),
        pytest.param(_no_connection_told, id="no-connection-told"),
        pytest.param(_autocommit_write, id="autocommit-write"),
    ],
)
def test_a_write_in_doubt_keeps_the_504(
    connect: Callable[..., Any], then: Callable[[Any, Any], None]
) -> None:
    """A COMMIT sent (event, text, driver, PREPARE), another connection's write, another
    database or driver, an autocommit write: the lost connection stays a 504."""
    conn, other = connect(autocommit=False), connect(autocommit=False)

    def run() -> None:
        with watching_writes():
            conn.execute("SELECT 1")
            note_statement(INSERT, conn, vendor="postgresql")
            then(conn, other)
            lost = _lost()
            note_failure(lost, conn)
            assert _answer(lost) == 504

    _run(run)


def test_a_failure_on_another_connection_keeps_the_504(connect: Callable[..., Any]) -> None:
    """The write held on one connection, the lost statement on another (or on none told): 504."""
    conn, other = connect(autocommit=False), connect(autocommit=False)

    def run() -> None:
        with watching_writes():
            note_statement(INSERT, conn, vendor="postgresql")
            lost, unnamed = _lost(), _lost()
            note_failure(lost, other)
            note_failure(unnamed)
            assert rolled_back_on(lost) is None
            assert _answer(lost) == 504
            assert _answer(unnamed) == 504
            assert _answer(_lost()) == 504  # an error no hook saw

    _run(run)
