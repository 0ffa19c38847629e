"""The schema of schema.py, on a real SQLite file, PostgreSQL and MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integrity.databases import POSTGRES, Database, create_schema

DIALECTS = ("sqlite", "postgresql", "mysql")


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Database:
    path: Path = tmp_path_factory.mktemp("integrity") / "app.db"
    database = Database("sqlite", sqlite_path=str(path))
    create_schema(database)
    return database


@pytest.fixture(scope="module")
def postgres_database(postgres_server: str) -> Iterator[Database]:
    import psycopg

    schema = f"hc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        database = Database("postgresql", schema=schema)
        create_schema(database)
        yield database
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def mysql_database(mariadb_database: dict[str, object]) -> Database:
    database = Database("mysql", mysql=dict(mariadb_database))
    create_schema(database)
    return database


@pytest.fixture(scope="module", params=DIALECTS)
def database(request: pytest.FixtureRequest) -> Database:
    """Each dialect's database in turn."""
    fixture = {"sqlite": "sqlite_database", "postgresql": "postgres_database"}.get(
        request.param, "mysql_database"
    )
    value: Database = request.getfixturevalue(fixture)
    return value
