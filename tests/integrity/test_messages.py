"""What a real server says, in any language and whatever the value: the 409 names the field.

The English regular expressions missed a value with a newline (PostgreSQL's
``Key (email)=(a\\nb) already exists.``, MariaDB's ``Duplicate entry
'a\\nb' for key 'k'``) and every server set to answer in another language
(PostgreSQL's and MariaDB's ``lc_messages``: ``Schlüssel »(email)=(a@x)«
existiert bereits.``, ``Doppelter Eintrag 'a@x' für Schlüssel 'k'``, as
reported in QGEP/QGEP#898 and paulzi/yii2-nested-sets#10): a unique
violation answered ``"fields": []``, a delete of a row others refer to a
422 "refers to a record that does not exist" instead of the 409.
"""

from __future__ import annotations

import asyncio
import locale
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integrity.databases import POSTGRES

from httpconflict import classify, integrity_problem
from httpconflict.catalog import load_catalog

SCHEMA = f"hc_messages_{uuid.uuid4().hex[:10]}"
_TABLES = [
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users)",
    "INSERT INTO users VALUES (1, E'ann\\nsmith@example.com')",
    "INSERT INTO orders VALUES (1, 1)",
]


@pytest.fixture(scope="module")
def postgres_schema_of_messages(postgres_server: str) -> Iterator[str]:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path = {SCHEMA}")
        for statement in _TABLES:
            conn.execute(statement)
    try:
        yield SCHEMA
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def _conflicts(error: BaseException, catalog: Any = None) -> tuple[int, list[Any]]:
    problem = integrity_problem(error, catalog=catalog)
    assert problem is not None
    assert problem.status is not None
    return problem.status, problem.extensions["conflicts"]


_DUPLICATE_NEWLINE = "INSERT INTO users VALUES (2, E'ann\\nsmith@example.com')"


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_postgres_value_with_a_newline_names_the_field(
    postgres_schema_of_messages: str, driver: str
) -> None:
    """PostgreSQL: a duplicate value holding a newline is a 409 naming email, with no catalog."""
    module = pytest.importorskip(driver)
    conn = module.connect(POSTGRES, options=f"-csearch_path={postgres_schema_of_messages}")
    try:
        with pytest.raises(module.IntegrityError) as caught:
            conn.cursor().execute(_DUPLICATE_NEWLINE)
        conn.rollback()
    finally:
        conn.close()
    violation = classify(caught.value)
    assert violation is not None
    assert violation.values == ("ann\nsmith@example.com",)
    assert _conflicts(caught.value) == (
        409,
        [{"fields": ["email"], "constraint": "users_email_key"}],
    )


def test_asyncpg_value_with_a_newline_names_the_field(postgres_schema_of_messages: str) -> None:
    """asyncpg: the same duplicate is a 409 naming email."""
    asyncpg = pytest.importorskip("asyncpg")

    async def fail() -> BaseException:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            user="postgres",
            database="test",
            server_settings={"search_path": postgres_schema_of_messages},
        )
        try:
            await conn.execute(_DUPLICATE_NEWLINE)
        except asyncpg.PostgresError as error:
            failed: BaseException = error
            return failed
        finally:
            await conn.close()
        raise AssertionError("the duplicate was stored")

    error = asyncio.run(fail())
    assert _conflicts(error) == (409, [{"fields": ["email"], "constraint": "users_email_key"}])


# What PostgreSQL 15 says in its shipped translations (postgres-15.mo), raised
# by the server with the same fields (SQLSTATE, constraint, table) it gives its
# own: (condition, message, detail, constraint, table).
_TRANSLATED = {
    "de-unique": (
        "unique_violation",
        "doppelter Schlüsselwert verletzt Unique-Constraint »users_email_key«",
        "Schlüssel »(email)=(a@x)« existiert bereits.",
        "users_email_key",
        "users",
    ),
    "fr-unique": (
        "unique_violation",
        "la valeur d'une clé dupliquée rompt la contrainte unique « users_email_key »",
        "La clé « (email)=(a@x) » existe déjà.",
        "users_email_key",
        "users",
    ),
    "ru-unique": (
        "unique_violation",
        'повторяющееся значение ключа нарушает ограничение уникальности "users_email_key"',
        'Ключ "(email)=(a@x)" уже существует.',
        "users_email_key",
        "users",
    ),
    "ja-unique": (
        "unique_violation",
        '重複したキー値は一意性制約"users_email_key"違反となります',
        "キー (email)=(a@x) はすでに存在します。",
        "users_email_key",
        "users",
    ),
    "de-exclusion": (
        "exclusion_violation",
        "kollidierender Schlüsselwert verletzt Exclusion-Constraint »no_overlap«",
        "Schlüssel (during)=([2,3)) kollidiert mit vorhandenem Schlüssel (during)=([1,5)).",
        "no_overlap",
        "bookings",
    ),
    "de-missing": (
        "foreign_key_violation",
        "Einfügen oder Aktualisieren in Tabelle »orders« verletzt Fremdschlüssel-Constraint "
        "»orders_user_id_fkey«",
        "Schlüssel (user_id)=(99) ist nicht in Tabelle »users« vorhanden.",
        "orders_user_id_fkey",
        "orders",
    ),
    "de-referenced": (
        "foreign_key_violation",
        "Aktualisieren oder Löschen in Tabelle »users« verletzt Fremdschlüssel-Constraint "
        "»orders_user_id_fkey« von Tabelle »orders«",
        "Auf Schlüssel (id)=(1) wird noch aus Tabelle »orders« verwiesen.",
        "orders_user_id_fkey",
        "orders",
    ),
    "ja-referenced": (
        "foreign_key_violation",
        'テーブル"users"の更新または削除は、テーブル"orders"の外部キー制約"orders_user_id_fkey"'
        "に違反します",
        'キー(id)=(1)はまだテーブル"orders"から参照されています',
        "orders_user_id_fkey",
        "orders",
    ),
    "fr-self-referenced": (
        "foreign_key_violation",
        "UPDATE ou DELETE sur la table « staff » viole la contrainte de clé étrangère "
        "« staff_boss_fkey » de la table « staff »",
        "La clé (id)=(1) est toujours référencée à partir de la table « staff ».",
        "staff_boss_fkey",
        "staff",
    ),
    "fr-self-missing": (
        "foreign_key_violation",
        "une instruction insert ou update sur la table « staff » viole la contrainte de clé "
        "étrangère « staff_boss_fkey »",
        "La clé (boss)=(7) n'est pas présente dans la table « staff ».",
        "staff_boss_fkey",
        "staff",
    ),
}
_ANSWERS = {
    "unique": (409, "unique-violation", ["email"], ("a@x",)),
    "exclusion": (409, "exclusion-violation", ["during"], ("[2,3)",)),
    "missing": (422, "foreign-key-violation", ["user_id"], ("99",)),
    "referenced": (409, "still-referenced", [], ("1",)),
    "self-referenced": (409, "still-referenced", [], ("1",)),
    "self-missing": (422, "foreign-key-violation", ["boss"], ("7",)),
}


@pytest.mark.parametrize("case", sorted(_TRANSLATED))
def test_postgres_in_another_language(postgres_server: str, case: str) -> None:
    """A server answering in German, French, Russian or Japanese: the same status and fields."""
    import psycopg

    condition, message, detail, constraint, table = _TRANSLATED[case]
    raised = (
        f"DO $$ BEGIN RAISE {condition} USING MESSAGE = %s, DETAIL = %s, "
        "CONSTRAINT = %s, TABLE = %s; END $$"
    )
    quoted = [psycopg.sql.quote(text) for text in (message, detail, constraint, table)]
    with psycopg.connect(POSTGRES) as conn, pytest.raises(psycopg.IntegrityError) as caught:
        conn.execute(raised % tuple(quoted))
    status, slug, fields, values = _ANSWERS[case.split("-", 1)[1]]
    problem = integrity_problem(caught.value)
    assert problem is not None
    assert (problem.status, problem.type.rsplit("/", 1)[-1]) == (status, slug)
    assert problem.extensions["conflicts"][0]["fields"] == fields
    violation = classify(caught.value)
    assert violation is not None
    assert violation.values == values


def _has_locale(name: str) -> bool:
    try:
        locale.setlocale(locale.LC_MESSAGES, name)
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_MESSAGES, "C")
    return True


@pytest.mark.parametrize("language", ["de_DE.UTF-8", "fr_FR.UTF-8", "ru_RU.UTF-8"])
def test_postgres_lc_messages(private_postgres: Any, language: str) -> None:
    """A server with lc_messages set (its own words): a duplicate names email, a delete is a 409."""
    import psycopg

    if not _has_locale(language):
        pytest.skip(f"the {language} locale is not on this machine (localedef -i ... to add it)")
    options = f"-clc_messages={language}"
    with psycopg.connect(private_postgres.url, autocommit=True, options=options) as conn:
        for statement in _TABLES:
            conn.execute(statement)
        with pytest.raises(psycopg.IntegrityError) as duplicate:
            conn.execute(_DUPLICATE_NEWLINE)
        with pytest.raises(psycopg.IntegrityError) as delete:
            conn.execute("DELETE FROM users WHERE id = 1")
    assert "Key" not in str(duplicate.value)  # the server did answer in another language
    assert _conflicts(duplicate.value) == (
        409,
        [{"fields": ["email"], "constraint": "users_email_key"}],
    )
    problem = integrity_problem(delete.value)
    assert problem is not None
    assert (problem.status, problem.type) == (
        409,
        "https://httpconflict.dev/problems/still-referenced",
    )


# --- MariaDB -----------------------------------------------------------------

_MARIADB_TABLES = [
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), nick VARCHAR(50),"
    " CONSTRAINT users_email UNIQUE (email), UNIQUE KEY `legacy.nick` (nick))",
    "INSERT INTO users VALUES (1, 'ann\\nsmith@example.com', 'ann')",
    "INSERT INTO users VALUES (2, 'x'' for key ''PRIMARY', 'bob')",
]


@pytest.fixture(scope="module")
def mariadb_messages(mariadb_database: dict[str, Any]) -> dict[str, Any]:
    import pymysql

    with pymysql.connect(**mariadb_database) as conn, conn.cursor() as cursor:
        for statement in _MARIADB_TABLES:
            cursor.execute(statement)
        conn.commit()
    return mariadb_database


_MARIADB_CASES = {
    "newline": ("INSERT INTO users VALUES (9, 'ann\\nsmith@example.com', 'z')", ["email"]),
    "hostile-value": ("INSERT INTO users VALUES (9, 'x'' for key ''PRIMARY', 'z')", ["email"]),
    "dotted-key-name": ("INSERT INTO users VALUES (9, 'new@example.com', 'ann')", ["nick"]),
    "not-null": ("INSERT INTO users VALUES (NULL, 'n@example.com', 'z')", ["id"]),
}


@pytest.mark.parametrize("language", ["en_US", "de_DE", "fr_FR", "ru_RU", "ja_JP"])
@pytest.mark.parametrize("case", sorted(_MARIADB_CASES))
@pytest.mark.parametrize("driver", ["pymysql", "MySQLdb"])
def test_mariadb_in_any_language(
    mariadb_messages: dict[str, Any], driver: str, case: str, language: str
) -> None:
    """MariaDB with lc_messages set, a newline or a quote in the value: the field is named."""
    module = pytest.importorskip(driver)
    sql, fields = _MARIADB_CASES[case]
    conn = module.connect(**mariadb_messages)
    try:
        catalog = load_catalog(conn)
        cursor = conn.cursor()
        cursor.execute(f"SET lc_messages = '{language}'")
        with pytest.raises(module.IntegrityError) as caught:
            cursor.execute(sql)
        conn.rollback()
    finally:
        conn.close()
    status, conflicts = _conflicts(caught.value, catalog)
    assert (status, conflicts[0]["fields"]) == (422 if case == "not-null" else 409, fields)
    values = {"newline": "ann\nsmith@example.com", "hostile-value": "x' for key 'PRIMARY"}
    if case in values:
        violation = classify(caught.value)
        assert violation is not None
        assert violation.values == (values[case],)
