"""Which SQL statements provably change nothing (`_read_only_sql.read_only`): in doubt, a write."""

from __future__ import annotations

import time

import pytest

from httpconflict._read_only_sql import read_only


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("SELECT orders.id, orders.n FROM orders WHERE orders.id = %(pk_1)s", id="orm"),
        pytest.param(
            'SELECT "app_note"."id" FROM "app_note" WHERE "app_note"."id" = %s', id="django"
        ),
        pytest.param("SELECT count(*) AS count_1 FROM orders", id="aggregate"),
        pytest.param(
            "select n from t where id in (select id from u) for update", id="locking-read"
        ),
        pytest.param(
            "SELECT 1 FROM t WHERE EXISTS (SELECT 1) LIMIT 1;", id="one-trailing-semicolon"
        ),
        pytest.param("/* app */ (SELECT 1) UNION (SELECT 2)", id="parenthesised"),
        pytest.param("SHOW transaction_isolation", id="show"),
        pytest.param("EXPLAIN SELECT 1", id="explain"),
        pytest.param("SET LOCAL lock_timeout = '1s'", id="setting"),
        pytest.param("SAVEPOINT sa_savepoint_1", id="savepoint"),
        pytest.param("ROLLBACK TO SAVEPOINT sa_savepoint_1", id="rollback-to"),
        pytest.param("COMMIT", id="commit"),
        pytest.param("PRAGMA table_list", id="pragma-read"),
    ],
)
def test_reads(statement: str) -> None:
    """Reads, locks, settings and transaction control change no data."""
    assert read_only(statement)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("INSERT INTO t VALUES (1)", id="insert"),
        pytest.param("update t SET n = 1", id="update"),
        pytest.param("WITH gone AS (DELETE FROM t RETURNING *) SELECT 1", id="cte"),
        pytest.param("SELECT place_order(1, 2)", id="function-of-the-app"),
        pytest.param("SELECT nextval('orders_id_seq')", id="sequence"),
        pytest.param("SELECT set_config('x', 'y', false)", id="set-config"),
        pytest.param("SELECT app.count(*) FROM t", id="qualified-name"),
        pytest.param('SELECT "lower"(name) FROM t', id="quoted-name"),
        pytest.param("SELECT * FROM f(1)", id="table-function"),
        pytest.param("SELECT * INTO archive FROM t", id="select-into"),
        pytest.param("SELECT n FROM t INTO OUTFILE '/tmp/x'", id="into-outfile"),
        pytest.param("EXPLAIN ANALYZE DELETE FROM t", id="explain-analyze-runs-it"),
        pytest.param("EXPLAIN (ANALYSE) UPDATE t SET n = 1", id="explain-analyse"),
        pytest.param("SELECT 1; DELETE FROM t", id="two-statements"),
        pytest.param("COMMIT PREPARED 'tx1'", id="two-phase-commit"),
        pytest.param("PRAGMA user_version = 5", id="pragma-write"),
        pytest.param("CALL refill()", id="call"),
        pytest.param("LOCK TABLE t", id="lock-tables-commits-on-mysql"),
        pytest.param("", id="nothing"),
        pytest.param("   ", id="blank"),
    ],
)
def test_anything_not_provably_read_only_may_write(statement: str) -> None:
    """Writes, calls of functions that are not the database's own pure ones, and text in doubt."""
    assert not read_only(statement)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("SELECT " + "a" * 60_000 + " x", id="one-long-name"),
        pytest.param("SELECT count(*) FROM t WHERE x = '" + "a_" * 30_000 + "'", id="long-literal"),
    ],
)
def test_a_long_word_is_judged_in_linear_time(statement: str) -> None:
    """A 60 KB word in a read is judged at once (tried from each character: minutes)."""
    started = time.perf_counter()
    assert read_only(statement)
    assert time.perf_counter() - started < 1
