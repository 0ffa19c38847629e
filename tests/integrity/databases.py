"""The three databases the integrity tests run on, each with the schema of schema.py."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from tests.integrity.schema import DDL

POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=test"


@dataclass(frozen=True)
class Database:
    """Where one dialect's copy of the schema lives, and how each driver reaches it."""

    dialect: str
    sqlite_path: str = ""
    schema: str = ""  # PostgreSQL
    mysql: dict[str, Any] = field(default_factory=dict)

    def sqlalchemy(self, *, asynchronous: bool = False) -> tuple[str, dict[str, Any]]:
        """A SQLAlchemy URL and its connect_args."""
        if self.dialect == "sqlite":
            driver = "sqlite+aiosqlite" if asynchronous else "sqlite"
            return f"{driver}:///{self.sqlite_path}", {}
        if self.dialect == "postgresql":
            url = "postgres@127.0.0.1:5432/test"
            if asynchronous:
                return f"postgresql+asyncpg://{url}", {
                    "server_settings": {"search_path": self.schema}
                }
            return f"postgresql+psycopg://{url}", {"options": f"-csearch_path={self.schema}"}
        driver = "mysql+aiomysql" if asynchronous else "mysql+pymysql"
        return f"{driver}://root@127.0.0.1:3306/{self.mysql['database']}", {}

    def django(self) -> dict[str, Any]:
        """A Django DATABASES entry."""
        if self.dialect == "sqlite":
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": self.sqlite_path}
        if self.dialect == "postgresql":
            return {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "test",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": 5432,
                "OPTIONS": {"options": f"-csearch_path={self.schema}"},
            }
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": self.mysql["database"],
            "USER": "root",
            "HOST": "127.0.0.1",
            "PORT": 3306,
        }


def sqlite_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def create_schema(database: Database) -> None:
    """Create the tables and their first rows."""
    if database.dialect == "sqlite":
        with sqlite_connect(database.sqlite_path) as conn:
            for statement in DDL["sqlite"]:
                conn.execute(statement)
        conn.close()
    elif database.dialect == "postgresql":
        import psycopg

        options = f"-csearch_path={database.schema}"
        with psycopg.connect(POSTGRES, options=options) as pg:
            for statement in DDL["postgresql"]:
                pg.execute(statement)
    else:
        import pymysql

        with pymysql.connect(**database.mysql) as conn, conn.cursor() as cursor:
            for statement in DDL["mysql"]:
                cursor.execute(statement)
            conn.commit()
