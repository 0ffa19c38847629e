"""The database error classes of the drivers and ORMs that are installed.

Frameworks look exception handlers up by class, and a driver's integrity
errors have no common base outside the driver (MariaDB's CHECK failures
are not even ``IntegrityError``s). The adapters register their handler for
each installed driver's base ``DatabaseError`` (and SQLAlchemy's pool
timeout, and the OSError asyncpg raises as it is; and redis-py's base
errors); the handler answers
what `httpconflict.classify` recognises, and a database outage (503), and
re-raises everything else untouched.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Final

__all__ = [
    "DATABASE_ERRORS",
    "database_error_types",
]

DATABASE_ERRORS: Final = (
    ("sqlite3", "DatabaseError"),
    ("sqlalchemy.exc", "DBAPIError"),
    # Not a driver's error: SQLAlchemy's pool had no connection free in time (a 503).
    ("sqlalchemy.exc", "TimeoutError"),
    ("django.db", "DatabaseError"),
    ("psycopg", "DatabaseError"),
    ("psycopg2", "DatabaseError"),
    ("asyncpg.exceptions", "PostgresError"),
    # asyncpg's own errors (a connection used after it broke: "connection is closed"; its
    # state machine tripped by the server ending the session under a statement).
    ("asyncpg.exceptions", "InterfaceError"),
    ("asyncpg.exceptions", "InternalClientError"),
    ("pymysql.err", "DatabaseError"),
    ("MySQLdb", "DatabaseError"),
    ("mysql.connector", "DatabaseError"),
    # redis-py (sync and asyncio, and Django's RedisCache on it): Redis down, frozen, full
    # of clients or cutting a connection, or refusing a command for its state (OOM,
    # READONLY...) is a 503 (504); its other errors are re-raised.
    ("redis.exceptions", "RedisError"),
    # Not a RedisError: redis-py's cluster client finding a slot no node serves.
    ("redis.exceptions", "RedisClusterException"),
    # Not a driver's class: asyncpg raises its socket's own errors as they are (a
    # refused connection, a timed-out pool); those a driver raised are a 503, and
    # the app's own OSErrors (a file it reads) are re-raised.
    ("builtins", "OSError"),
    # Not a driver's class either: uvloop's "the handler is closed" RuntimeError, which
    # redis-py's asyncio client lets through when it writes to a connection closed under
    # it (a 503/504); any other RuntimeError is re-raised.
    ("builtins", "RuntimeError"),
    # Not a driver's class either: SQLite's driver binding an integer past 64 bits, any
    # driver encoding a lone surrogate; a value the database cannot hold is a 422
    # (`httpconflict._unstorable`), any other of these re-raised.
    ("builtins", "OverflowError"),
    ("builtins", "UnicodeEncodeError"),
)


def database_error_types() -> tuple[type[Exception], ...]:
    """The base database error class of each installed driver and ORM."""
    found: list[type[Exception]] = []
    for module_name, class_name in DATABASE_ERRORS:
        root = module_name.split(".")[0]
        if importlib.util.find_spec(root) is None:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # installed but broken (a missing C library): not in use
        error = getattr(module, class_name, None)
        if isinstance(error, type) and issubclass(error, Exception):
            found.append(error)
    return tuple(found)
