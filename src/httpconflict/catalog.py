"""Reading a `Catalog` from a live database, and keeping it.

`load_catalog` runs the catalog query on a connection you already have:
a DB-API connection (sqlite3, psycopg, psycopg2, PyMySQL, mysqlclient), a
SQLAlchemy ``Engine`` or ``Connection``, or a Django connection.
`aload_catalog` does the same for asyncpg, psycopg's ``AsyncConnection``,
aiosqlite and SQLAlchemy's ``AsyncEngine``/``AsyncConnection``.

`CatalogCache` loads once, on the first violation that needs it, and
reloads (at most once a minute) when an error names a constraint it does
not know, such as one created by a migration since.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from ._catalog import CATALOG_QUERIES, Catalog
from ._integrity import Violation, ViolationKind

__all__ = [
    "CatalogCache",
    "aload_catalog",
    "dialect_of",
    "load_catalog",
]

logger = logging.getLogger(__name__)

_DRIVER_DIALECTS = {
    "sqlite3": "sqlite",
    "_sqlite3": "sqlite",
    "aiosqlite": "sqlite",
    "psycopg": "postgresql",
    "psycopg2": "postgresql",
    "asyncpg": "postgresql",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "aiomysql": "mysql",
    "mysql": "mysql",
}


def dialect_of(connection: Any) -> str:
    """``postgresql``, ``sqlite`` or ``mysql`` for a connection of any supported kind."""
    vendor = getattr(connection, "vendor", None)  # Django
    if isinstance(vendor, str):
        return "postgresql" if vendor == "postgresql" else vendor
    sqlalchemy_dialect = getattr(connection, "dialect", None)
    name = getattr(sqlalchemy_dialect, "name", None)
    if isinstance(name, str):
        return "mysql" if name == "mariadb" else name
    root = type(connection).__module__.split(".")[0]
    if root in _DRIVER_DIALECTS:
        return _DRIVER_DIALECTS[root]
    raise TypeError(f"cannot tell the database of a {type(connection).__qualname__}")


def _catalog(dialect: str, rows: Iterable[Sequence[Any]]) -> Catalog:
    return Catalog.from_rows(dialect, [tuple(row) for row in rows])


def load_catalog(connection: Any) -> Catalog:
    """Read the catalog through a synchronous connection (or SQLAlchemy engine)."""
    dialect = dialect_of(connection)
    query = CATALOG_QUERIES[dialect]
    if hasattr(connection, "exec_driver_sql"):  # SQLAlchemy Connection
        return _catalog(dialect, connection.exec_driver_sql(query).all())
    if hasattr(connection, "connect") and hasattr(connection, "dialect"):  # SQLAlchemy Engine
        with connection.connect() as sqlalchemy_connection:
            return _catalog(dialect, sqlalchemy_connection.exec_driver_sql(query).all())
    cursor = connection.cursor()
    try:
        cursor.execute(query)
        return _catalog(dialect, cursor.fetchall())
    finally:
        cursor.close()


async def aload_catalog(connection: Any) -> Catalog:
    """Read the catalog through an asynchronous connection (or SQLAlchemy async engine)."""
    dialect = dialect_of(connection)
    query = CATALOG_QUERIES[dialect]
    if hasattr(connection, "fetch"):  # asyncpg
        return _catalog(dialect, await connection.fetch(query))
    if hasattr(connection, "exec_driver_sql"):  # SQLAlchemy AsyncConnection
        return _catalog(dialect, (await connection.exec_driver_sql(query)).all())
    if hasattr(connection, "connect") and hasattr(connection, "dialect"):  # AsyncEngine
        async with connection.connect() as sqlalchemy_connection:
            result = await sqlalchemy_connection.exec_driver_sql(query)
            return _catalog(dialect, result.all())
    cursor = await connection.execute(query)  # psycopg AsyncConnection, aiosqlite
    try:
        return _catalog(dialect, await cursor.fetchall())
    finally:
        await cursor.close()


class CatalogCache:
    """A catalog loaded when first needed and reloaded when it meets a new constraint."""

    def __init__(
        self,
        load: Callable[[], Catalog] | None = None,
        *,
        aload: Callable[[], Awaitable[Catalog]] | None = None,
        refresh_after: float = 60.0,
    ) -> None:
        if load is None and aload is None:
            raise TypeError("give load, aload or both")
        self._load = load
        self._aload = aload
        self.refresh_after = refresh_after
        self.catalog: Catalog | None = None
        self._loaded_at = float("-inf")

    def _needs_load(self, violation: Violation) -> bool:
        named = violation.constraint is not None or violation.kind is ViolationKind.NOT_NULL
        if violation.table is not None and violation.columns and named:
            return False  # the error said it all
        if self.catalog is not None and self.catalog.find(violation) is not None:
            return False
        return time.monotonic() - self._loaded_at >= self.refresh_after

    def _loaded(self, catalog: Catalog | None) -> None:
        # A failed load keeps the old catalog and is retried after refresh_after:
        # naming the columns is worth a query, not a second error.
        if catalog is not None:
            self.catalog = catalog
        self._loaded_at = time.monotonic()

    def _complete(self, violation: Violation) -> Violation:
        return violation if self.catalog is None else self.catalog.complete(violation)

    def complete(self, violation: Violation) -> Violation:
        """`violation` completed, loading the catalog (synchronously) if need be."""
        if self._needs_load(violation):
            if self._load is None:
                raise TypeError("this CatalogCache loads asynchronously: use acomplete()")
            try:
                catalog: Catalog | None = self._load()
            except Exception:
                logger.warning("could not read the database catalog", exc_info=True)
                catalog = None
            self._loaded(catalog)
        return self._complete(violation)

    async def acomplete(self, violation: Violation) -> Violation:
        """`violation` completed, loading the catalog (asynchronously if it can) if need be."""
        if self._needs_load(violation):
            try:
                catalog = await self._aload() if self._aload is not None else self._sync_load()
            except Exception:
                logger.warning("could not read the database catalog", exc_info=True)
                catalog = None
            self._loaded(catalog)
        return self._complete(violation)

    def _sync_load(self) -> Catalog:
        assert self._load is not None
        return self._load()
