"""What is not an integrity violation is left alone; the policy's answers.

The errors below come from the real databases where a database can raise
them (a missing table, a syntax error, a deadlock-free lock timeout...),
so "left alone" is checked against what drivers really raise.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.integrity.databases import POSTGRES, Database

from httpconflict import (
    ConstraintViolated,
    IntegrityPolicy,
    Violation,
    ViolationKind,
    classify,
    integrity_error,
    integrity_problem,
)

SQLITE_NOT_CONSTRAINTS = [
    "SELECT * FROM missing_table",  # SQLITE_ERROR
    "SELEC 1",  # a syntax error
    "INSERT INTO strict_t VALUES ('text in an integer column')",  # SQLITE_CONSTRAINT_DATATYPE
    "INSERT INTO guarded VALUES (1)",  # a trigger's RAISE(ABORT): the app's rule, not a constraint
    "SELECT fails()",  # a function whose message imitates a constraint
]


def _sqlite_error(tmp_path: Any, sql: str) -> BaseException:
    conn = sqlite3.connect(tmp_path / "plain.db")
    conn.executescript(
        """CREATE TABLE IF NOT EXISTS strict_t (a INTEGER) STRICT;
        CREATE TABLE IF NOT EXISTS guarded (a INTEGER);
        CREATE TRIGGER IF NOT EXISTS no_rows BEFORE INSERT ON guarded
        BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: guarded.a'); END;"""
    )

    def fails() -> None:
        raise ValueError("UNIQUE constraint failed: users.email")

    conn.create_function("fails", 0, fails)
    try:
        conn.execute(sql)
    except sqlite3.Error as error:
        return error
    finally:
        conn.close()
    raise AssertionError(f"{sql!r} did not fail")


@pytest.mark.parametrize("sql", SQLITE_NOT_CONSTRAINTS)
def test_sqlite_errors_that_are_not_violations_are_left_alone(tmp_path: Any, sql: str) -> None:
    error = _sqlite_error(tmp_path, sql)
    assert classify(error) is None
    assert integrity_problem(error) is None
    assert integrity_error(error) is None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM missing_table",
        "SELECT 1/0",
        "SELECT 'not a number'::integer",
        "SET statement_timeout = '1ms'; SELECT pg_sleep(1)",  # 57014 query_canceled
    ],
)
def test_postgres_errors_that_are_not_violations_are_left_alone(
    postgres_database: Database, sql: str
) -> None:
    import psycopg

    *setup, failing = sql.split("; ")
    options = f"-csearch_path={postgres_database.schema}"
    with psycopg.connect(POSTGRES, options=options) as conn:
        for statement in setup:
            conn.execute(statement)
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(failing)
    assert classify(caught.value) is None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM missing_table",
        "SELEC 1",
        "INSERT INTO users (id, email) VALUES ('x', 'y', 'z')",
        "SELECT 1 FROM users WHERE email = 1 LIMIT 1 OFFSET 'a'",
    ],
)
def test_mariadb_errors_that_are_not_violations_are_left_alone(
    mysql_database: Database, sql: str
) -> None:
    import pymysql

    with (
        pymysql.connect(**mysql_database.mysql) as conn,
        conn.cursor() as cursor,
        pytest.raises(pymysql.Error) as caught,
    ):
        cursor.execute(sql)
    assert classify(caught.value) is None


class LooksLikeADriverError(Exception):
    """Not from a database: no PEP 249 class in its ancestry."""


@pytest.mark.parametrize(
    "error",
    [
        ValueError("UNIQUE constraint failed: users.email"),
        KeyError("users_email_key"),
        RuntimeError('duplicate key value violates unique constraint "users_email_key"'),
        Exception(1062, "Duplicate entry 'a' for key 'users_email_key'"),
        LooksLikeADriverError(1062, "Duplicate entry 'a' for key 'users_email_key'"),
        TimeoutError(),
    ],
    ids=repr,
)
def test_errors_from_elsewhere_are_never_classified(error: BaseException) -> None:
    assert classify(error) is None


def test_a_cycle_in_the_chain_ends(tmp_path: Any) -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert classify(first) is None


def test_the_violation_is_found_under_an_application_error() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a UNIQUE)")
    conn.execute("INSERT INTO t VALUES (1)")
    try:
        try:
            conn.execute("INSERT INTO t VALUES (1)")
        except sqlite3.IntegrityError as error:
            raise RuntimeError("could not save") from error
    except RuntimeError as wrapped:
        violation = classify(wrapped)
    assert violation is not None
    assert (violation.kind, violation.table, violation.columns) == (
        ViolationKind.UNIQUE,
        "t",
        ("a",),
    )


UNIQUE = Violation(
    ViolationKind.UNIQUE,
    "postgresql",
    table="users",
    constraint="uq_tenant_slug",
    columns=("tenant", "slug"),
    values=("1", "a"),
)


def test_the_default_answer_names_fields_and_constraint_but_not_values() -> None:
    body = IntegrityPolicy().problem(UNIQUE).to_dict()
    assert body == {
        "type": "https://httpconflict.dev/problems/unique-violation",
        "title": "A record with this value already exists",
        "status": 409,
        "detail": "Another record already has this combination of values for tenant and slug.",
        "conflicts": [{"fields": ["tenant", "slug"], "constraint": "uq_tenant_slug"}],
    }


def test_the_policy_is_configurable() -> None:
    policy = IntegrityPolicy(
        status={"unique-violation": 422},
        fields={"users.tenant": "organisation", "slug": "name"},
        expose_values=True,
        expose_constraint=False,
    )
    body = policy.problem(UNIQUE).to_dict()
    assert body["status"] == 422
    assert body["conflicts"] == [{"fields": ["organisation", "name"], "values": ["1", "a"]}]
    by_function = IntegrityPolicy(fields=lambda v: [f"/{c}" for c in v.columns])
    assert by_function.problem(UNIQUE).extensions["conflicts"][0]["fields"] == ["/tenant", "/slug"]


@pytest.mark.parametrize(
    ("violation", "status", "slug"),
    [
        (Violation(ViolationKind.UNIQUE, "sqlite"), 409, "unique-violation"),
        (Violation(ViolationKind.EXCLUSION, "postgresql"), 409, "exclusion-violation"),
        (Violation(ViolationKind.FOREIGN_KEY, "mysql", referenced=True), 409, "still-referenced"),
        (Violation(ViolationKind.FOREIGN_KEY, "mysql"), 422, "foreign-key-violation"),
        (Violation(ViolationKind.NOT_NULL, "mysql", columns=("email",)), 422, "not-null-violation"),
        (Violation(ViolationKind.CHECK, "sqlite"), 422, "check-violation"),
    ],
)
def test_each_kind_has_its_status(violation: Violation, status: int, slug: str) -> None:
    error = ConstraintViolated(violation)
    assert error.status == status
    assert error.problem.type.endswith("/" + slug)
    assert error.problem.detail
    assert error.violation is violation


class IntegrityError(Exception):
    """Shaped like a driver's error (PEP 249 name), carrying whatever a test gives it."""


@settings(max_examples=300, deadline=None)
@given(
    code=st.one_of(st.none(), st.sampled_from(["23505", "23503", "23P01", "23502"])),
    text=st.text(),
    number=st.sampled_from([1062, 1451, 1452, 4025, 3819, 2067, 275]),
)
def test_any_message_is_read_without_failing(code: str | None, text: str, number: int) -> None:
    postgres = IntegrityError(text)
    postgres.sqlstate = code  # type: ignore[attr-defined]
    postgres.detail = text  # type: ignore[attr-defined]
    mysql = IntegrityError(number, text)
    sqlite = IntegrityError(text)
    sqlite.sqlite_errorcode = number  # type: ignore[attr-defined]
    for error in (postgres, mysql, sqlite):
        violation = classify(error)
        assert violation is None or violation.kind in ViolationKind


@given(text=st.text(), number=st.integers())
def test_builtin_errors_are_never_violations(text: str, number: int) -> None:
    for error in (ValueError(text), Exception(number, text), OSError(number, text)):
        assert classify(error) is None
