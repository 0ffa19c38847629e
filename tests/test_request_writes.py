"""A request's commits (`_request_writes`): what a statement is, and the outage after a commit."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from pathlib import Path

import pytest

from httpconflict import (
    IdempotencyKeyRecordedLate,
    Unavailable,
    WriteOutcomeUnknown,
    mark_applied,
)
from httpconflict._request_writes import (
    begin_watching,
    check_first_write,
    committed_writes,
    current_writes,
    database_name,
    end_watching,
    note_commit,
    note_failure,
    note_statement,
    nothing_sent,
    watching_writes,
    writes,
)
from httpconflict.outage import outage_error

APP = database_name("postgresql", "127.0.0.1", 5432, "app")


@pytest.mark.parametrize(
    ("statement", "wrote"),
    [
        pytest.param("SELECT 1", False, id="select"),
        pytest.param("  /* app */ select n FROM t FOR UPDATE", False, id="locking-read"),
        pytest.param("-- note\nSELECT 1", False, id="line-comment"),
        pytest.param("(SELECT 1) UNION (SELECT 2)", False, id="parenthesised"),
        pytest.param("SET LOCAL lock_timeout = '1s'", False, id="setting"),
        pytest.param("SAVEPOINT sa_1", False, id="transaction-control"),
        pytest.param("INSERT INTO t VALUES (1)", True, id="insert"),
        pytest.param("update t SET n = 1", True, id="update"),
        pytest.param("DELETE FROM t", True, id="delete"),
        pytest.param("WITH gone AS (DELETE FROM t RETURNING *) SELECT 1", True, id="cte-may-write"),
        pytest.param("CALL refill()", True, id="unknown-counts"),
        pytest.param("", True, id="nothing-to-read-counts"),
    ],
)
def test_writes(statement: str, wrote: bool) -> None:
    """A statement writes unless it begins with a read or transaction control (in doubt: writes)."""
    assert writes(statement) is wrote


def test_commits_count_only_in_a_watched_request() -> None:
    """A commit outside a watched request marks nothing; nested watchers share one record."""
    note_commit(APP)
    assert not committed_writes()
    with watching_writes() as outer:
        with watching_writes() as inner:
            assert inner is outer
            note_commit(APP)
        assert committed_writes()
        assert outer.committed == 1
    assert not committed_writes()
    token = begin_watching()
    note_commit(APP)
    assert committed_writes()
    end_watching(token)
    assert not committed_writes()


@pytest.mark.parametrize(
    ("one", "other"),
    [
        pytest.param(("postgresql", "localhost", None, "app"), APP, id="localhost-default-port"),
        pytest.param(("postgresql", "::1", 5432, "app"), APP, id="ipv6-loopback"),
        pytest.param(("postgresql", "[::1]", "5432", "app"), APP, id="bracketed"),
        pytest.param(("postgresql", "127.0.0.2", 5432, "app"), APP, id="other-loopback"),
        pytest.param(("postgresql", None, None, "app"), APP, id="socket-default"),
        pytest.param(("postgresql", "/var/run/postgresql", 5432, "app"), APP, id="socket-dir"),
        pytest.param(("postgresql", "LocalHost.", "", "app"), APP, id="spelling"),
        pytest.param(
            ("mariadb", "db.example", None, "d"), ("mysql", "DB.example", 3306, "d"), id="mariadb"
        ),
        pytest.param(("microsoft", "h", None, "d"), ("mssql", "h", 1433, "d"), id="sql-server"),
        pytest.param(
            ("sqlite", None, None, "app.db"),
            ("sqlite", None, None, "./sub/../app.db"),
            id="sqlite-relative",
        ),
    ],
)
def test_one_database_by_any_of_its_names(
    one: tuple[str, str | None, object, str], other: tuple[str, str | None, object, str] | str
) -> None:
    """A commit through one name of a database counts for its others (the late-record check)."""
    named = other if isinstance(other, str) else database_name(*other)
    assert database_name(*one) == named
    with watching_writes():
        note_commit(database_name(*one))
        with pytest.raises(IdempotencyKeyRecordedLate):
            check_first_write(named)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(("postgresql", "127.0.0.1", 5433, "app"), id="port"),
        pytest.param(("postgresql", "127.0.0.1", 5432, "app2"), id="name"),
        pytest.param(("postgresql", "db.example", 5432, "app"), id="host"),
        pytest.param(("mysql", "127.0.0.1", 5432, "app"), id="vendor"),
    ],
)
def test_other_databases_stay_apart(other: tuple[str, str, object, str]) -> None:
    assert database_name(*other) != APP


def test_sqlite_files_are_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_name("sqlite", None, None, "a.db") == f"sqlite:///{tmp_path / 'a.db'}"
    assert database_name("sqlite", None, None, ":memory:") == "sqlite:///:memory:"
    assert database_name("sqlite", None, None, "a.db") != database_name("sqlite", "", "", "b.db")


def test_a_key_recorded_after_a_write_committed_to_its_database_is_refused() -> None:
    """Only a write committed to the key's own database (not taken back) refuses its record."""
    check_first_write(APP)  # outside a request: nothing to tell
    with watching_writes() as record:
        check_first_write(APP)
        note_commit(database_name("sqlite", None, None, "other.db"))
        check_first_write(APP)  # another database's write: no transaction of the key's holds it
        note_commit(database_name("postgresql", "127.0.0.1", "5432", "app"))
        with pytest.raises(IdempotencyKeyRecordedLate) as late:
            check_first_write(APP)
        assert late.value.status == 500
        assert "first write" in str(late.value.problem.detail)
        record.add(APP, -1)  # its COMMIT failed: it may not have happened
        check_first_write(APP)
        assert current_writes() is record
    assert database_name("mariadb", "h", 3306, "d") == database_name("mysql", "h", "3306", "d")


def test_an_outage_after_a_commit_is_an_unknown_outcome(postgres_server: str) -> None:
    """A refused connection after the request committed a write: 504, not 503 (nothing applied).

    A read stays a 503; `committed=` says it for code that knows better.
    """
    psycopg = pytest.importorskip("psycopg")
    from tests.servers import free_port

    try:
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", connect_timeout=2)
    except psycopg.OperationalError as error:
        refused: BaseException = error
    assert isinstance(outage_error(refused, "POST"), Unavailable)
    with watching_writes():
        assert isinstance(outage_error(refused, "POST"), Unavailable)
        note_commit(APP)
        unknown = outage_error(refused, "POST")
        assert isinstance(unknown, WriteOutcomeUnknown)
        assert "after a transaction of the request had committed" in str(unknown.problem.detail)
        assert isinstance(outage_error(refused, "GET"), Unavailable)
        assert isinstance(outage_error(refused, "POST", committed=False), Unavailable)
    assert isinstance(outage_error(refused, "POST", committed=True), WriteOutcomeUnknown)


def test_a_commit_through_localhost_counts_for_127_0_0_1(postgres_schema: str) -> None:
    """Two SQLAlchemy engines on one PostgreSQL, by two names: the second's record is late."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from httpconflict.sqlalchemy._commits import database_of

    url = postgres_schema.replace("postgresql://", "postgresql+psycopg://", 1)
    if "@127.0.0.1:5432/" not in url:
        pytest.skip("the PostgreSQL URL is not 127.0.0.1:5432, which this test renames")
    by_ip = sqlalchemy.create_engine(url)
    by_name = sqlalchemy.create_engine(url.replace("@127.0.0.1:5432/", "@localhost/"))
    try:
        with by_ip.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE n (v int)"))
        with watching_writes(), by_name.connect() as named, by_ip.connect() as ip:
            named.execute(sqlalchemy.text("INSERT INTO n VALUES (1)"))
            named.commit()
            assert database_of(named) == database_of(ip)
            with pytest.raises(IdempotencyKeyRecordedLate):
                check_first_write(database_of(ip))
    finally:
        by_ip.dispose()
        by_name.dispose()


def test_a_mark_that_reaches_no_request_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """`mark_applied` outside a watched request, or after its watch ended, marks nothing and
    logs a warning: the key of that request may be released already (a resend runs it again)."""
    with caplog.at_level("WARNING", logger="httpconflict"):
        mark_applied()
        with watching_writes() as record:
            mark_applied()
            assert committed_writes()
            task_context = contextvars.copy_context()  # as a task started by the request
        task_context.run(mark_applied)  # that task, once its request has ended
    assert record.committed == 1
    said = [r.getMessage() for r in caplog.records if "mark_applied()" in r.getMessage()]
    assert len(said) == 2, said
    assert "outside any request" in said[0]
    assert "after its request ended" in said[1]


def _lost() -> BaseException:
    psycopg = pytest.importorskip("psycopg")
    lost: BaseException = psycopg.OperationalError("server closed the connection unexpectedly")
    return lost


def _in_a_new_context() -> contextvars.Context:
    """A context as a server's new thread has: nothing sent in it before."""
    return contextvars.Context()


def test_a_connection_lost_before_anything_that_writes_was_sent_is_a_503() -> None:
    """Lost at a read the hooks saw, nothing that may write sent before: 503; after one: 504."""

    def run() -> None:
        lost = _lost()
        with watching_writes():
            note_statement("SELECT n FROM t WHERE id = %s FOR UPDATE")
            note_failure(lost)
            assert nothing_sent(lost)
            unavailable = outage_error(lost, "POST")
            assert isinstance(unavailable, Unavailable)
            assert "nothing was applied" in str(unavailable.problem.detail)
            note_statement("UPDATE t SET n = n + 1")
            assert not nothing_sent(lost)
            assert isinstance(outage_error(lost, "POST"), WriteOutcomeUnknown)

    _in_a_new_context().run(run)


def _insert() -> None:
    note_statement("INSERT INTO t VALUES (1)")


def _function() -> None:
    note_statement("SELECT place_order(1)")


def _commit() -> None:
    note_commit(APP)


@pytest.mark.parametrize(
    ("before", "seen"),
    [
        pytest.param(_insert, True, id="insert-sent"),
        pytest.param(_function, True, id="function-called-from-a-select"),
        pytest.param(_commit, True, id="committed"),
        pytest.param(mark_applied, True, id="marked-applied"),
        pytest.param(lambda: None, False, id="an-error-no-hook-saw"),
    ],
)
def test_a_lost_connection_in_doubt_stays_a_504(before: Callable[[], None], seen: bool) -> None:
    """A write or a function sent, a commit, a mark, or an error the hooks did not see: 504."""

    def run() -> None:
        lost = _lost()
        with watching_writes():
            note_statement("SELECT 1")
            before()
            if seen:
                note_failure(lost)
            assert not nothing_sent(lost)
            assert isinstance(outage_error(lost, "POST"), WriteOutcomeUnknown)
            assert isinstance(outage_error(lost, "GET"), Unavailable)

    _in_a_new_context().run(run)


def test_a_write_sent_where_no_request_is_watched_counts_for_the_next() -> None:
    """A write sent outside any watch (a middleware outside the adapter's): the next request
    watched in that context starts as one that wrote; the one after it does not."""

    def run() -> None:
        note_statement("SELECT 1")
        with watching_writes() as clean:
            assert clean.sent == 0
        note_statement("INSERT INTO audit VALUES (1)")
        with watching_writes() as marked:
            assert marked.sent == 1
        token = begin_watching()
        record = current_writes()
        assert record is not None
        assert record.sent == 0
        end_watching(token)

    _in_a_new_context().run(run)
