"""A counter kept as a ledger, and numbered orders: writes two concurrent transactions conflict on.

The apps of `test_rolled_back_*` serve them on PostgreSQL and MariaDB at
SERIALIZABLE isolation, or on an SQLite file, and commit after their
handler ran (a Flask teardown, a FastAPI dependency's exit, a Django
middleware's ``atomic``):

- ``GET /counter``: ``{"n": n}`` of the ledger's last row, its version the ETag;
- ``PUT /counter`` with ``If-Match: "v"``: 412 unless v is the ledger's last version;
  else appends version v + 1 holding the body's ``n`` and the request's Idempotency-Key;
- ``POST /orders``: appends an order numbered one past the last, holding the request's key.

Each reads the table it then appends to, so two of them at once conflict:
PostgreSQL's SERIALIZABLE refuses one (40001, at its INSERT or its COMMIT),
InnoDB's takes shared locks as it reads and one INSERT deadlocks (1213),
SQLite refuses the second writer (busy). No unique constraint keeps the
versions or numbers apart: the isolation does, and `stored` shows it.

`prepare` makes the tables (``conflict_ledger``, ``conflict_orders``);
the ORM classes are for SQLAlchemy apps, whose session INSERTs them at
its flush, in the COMMIT after the handler.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Integer, String, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LAST_ROW = "SELECT version, n FROM conflict_ledger ORDER BY version DESC LIMIT 1"
LAST_VERSION = "SELECT max(version) FROM conflict_ledger"
LAST_NUMBER = "SELECT coalesce(max(number), 0) FROM conflict_orders"
#: The environment variable giving an SQLite app its busy timeout (seconds) and one
#: connection (`engine_arguments`), for `test_sqlite_busy_commits`.
BUSY_TIMEOUT = "CONFLICT_SQLITE_BUSY_TIMEOUT"


class Base(DeclarativeBase):
    pass


class LedgerRow(Base):
    __tablename__ = "conflict_ledger"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    request_key: Mapped[str | None] = mapped_column(String(255))


class Order(Base):
    __tablename__ = "conflict_orders"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(Integer)
    request_key: Mapped[str] = mapped_column(String(255))


def engine_arguments(url: str, *, driver: str = "") -> tuple[str, dict[str, Any]]:
    """SQLAlchemy's URL and engine options for `url` (``postgresql://``, ``mysql://``, a path).

    PostgreSQL and MariaDB at SERIALIZABLE; asyncpg, which takes no
    ``options``, given the schema as a server setting. SQLite: a pool of one
    connection with the busy timeout `BUSY_TIMEOUT` names, when it does.
    """
    if url.startswith("postgresql://"):
        options: dict[str, Any] = {"isolation_level": "SERIALIZABLE"}
        driver = driver or "psycopg"
        if driver == "asyncpg":
            schema = parse_qs(urlsplit(url).query)["options"][0].removeprefix("-csearch_path=")
            options["connect_args"] = {"server_settings": {"search_path": schema}}
            url = url.partition("?")[0]
        return url.replace("postgresql://", f"postgresql+{driver}://", 1), options
    if url.startswith("mysql://"):
        mysql = url.replace("mysql://", f"mysql+{driver or 'pymysql'}://", 1)
        return mysql, {"isolation_level": "SERIALIZABLE"}
    address = f"sqlite+{driver or 'pysqlite'}:///{url}"
    busy = os.environ.get(BUSY_TIMEOUT)
    if busy is None:
        return address, {"connect_args": {"timeout": 10}}
    # One connection: the app's writes never wait on each other, only on another process.
    return address, {"connect_args": {"timeout": float(busy)}, "pool_size": 1, "max_overflow": 0}


def sqlite_transactions(engine: Any) -> None:
    """Each transaction of `engine` (SQLite) from its first statement, a read too: ``BEGIN``.

    Python's sqlite3 (before 3.12's ``autocommit``) begins one only before a
    write, so a read before it sees a version no lock holds (SQLAlchemy's
    recipe, "Serializable isolation / Savepoints / Transactional DDL").
    """

    @event.listens_for(engine, "connect")
    def no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def _connect(url: str) -> Any:
    if url.startswith("postgresql://"):
        import psycopg

        return psycopg.connect(url, autocommit=True)
    if url.startswith("mysql://"):
        import pymysql

        parts = urlsplit(url)
        return pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/"),
            autocommit=True,
        )
    return sqlite3.connect(url, isolation_level=None)


def _run(url: str, statements: list[str]) -> list[tuple[Any, ...]]:
    conn = _connect(url)
    try:
        cursor = conn.cursor()
        rows: list[tuple[Any, ...]] = []
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
                rows = list(cursor.fetchall())
        return rows
    finally:
        conn.close()


def prepare(url: str) -> None:
    """The two tables, the ledger at version 1 with n 0."""
    key = "INTEGER PRIMARY KEY AUTOINCREMENT"
    if url.startswith("postgresql://"):
        key = "serial PRIMARY KEY"
    elif url.startswith("mysql://"):
        key = "INT AUTO_INCREMENT PRIMARY KEY"
    engine = " ENGINE=InnoDB" if url.startswith("mysql://") else ""
    _run(
        url,
        [
            f"CREATE TABLE conflict_ledger (row_id {key}, version INT NOT NULL, n INT NOT NULL, "
            f"request_key VARCHAR(255)){engine}",
            "INSERT INTO conflict_ledger (version, n) VALUES (1, 0)",
            f"CREATE TABLE conflict_orders (row_id {key}, number INT NOT NULL, "
            f"request_key VARCHAR(255) NOT NULL){engine}",
        ],
    )


@dataclass(frozen=True)
class Stored:
    """What the tables hold."""

    n: int
    versions: list[int]
    ledger_keys: Counter[str]
    numbers: list[int]
    order_keys: Counter[str]


def stored(url: str) -> Stored:
    ledger = _run(url, ["SELECT version, n, request_key FROM conflict_ledger ORDER BY version"])
    orders = _run(url, ["SELECT number, request_key FROM conflict_orders ORDER BY number"])
    return Stored(
        n=int(ledger[-1][1]),
        versions=[int(row[0]) for row in ledger],
        ledger_keys=Counter(str(row[2]) for row in ledger if row[2] is not None),
        numbers=[int(row[0]) for row in orders],
        order_keys=Counter(str(row[1]) for row in orders),
    )
