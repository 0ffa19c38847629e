"""CatalogCache: loads when first needed, reloads for a constraint it does not know,
and survives a failed load."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from httpconflict import Catalog, Violation, ViolationKind, classify
from httpconflict.catalog import CatalogCache, aload_catalog, load_catalog


def _violation(db: sqlite3.Connection, sql: str) -> Violation:
    try:
        db.execute(sql)
    except sqlite3.IntegrityError as error:
        found = classify(error)
        assert found is not None
        return found
    raise AssertionError(f"{sql!r} did not fail")


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, handle TEXT)")
    conn.execute("CREATE UNIQUE INDEX ix_people_lookup ON users (lower(handle))")
    conn.execute("INSERT INTO users (email, handle) VALUES ('a@x', 'Ann')")
    return conn


def test_loads_once_and_only_when_the_error_leaves_something_out(db: sqlite3.Connection) -> None:
    loads: list[Catalog] = []

    def load() -> Catalog:
        loads.append(load_catalog(db))
        return loads[-1]

    cache = CatalogCache(load)
    plain = _violation(db, "INSERT INTO users (email) VALUES ('a@x')")
    assert cache.complete(plain).columns == ("email",)  # the error named the column...
    named = _violation(db, "INSERT INTO users (email, handle) VALUES ('b@x', 'ANN')")
    assert cache.complete(named).columns == ("handle",)  # ...this one did not
    assert cache.complete(named).columns == ("handle",)
    # The first needed the catalog only to name its unnamed UNIQUE; one load served both.
    assert len(loads) == 1


def test_a_constraint_added_since_is_found_by_a_reload(db: sqlite3.Connection) -> None:
    loads = 0

    def load() -> Catalog:
        nonlocal loads
        loads += 1
        return load_catalog(db)

    cache = CatalogCache(load, refresh_after=0.0)
    cache.complete(_violation(db, "INSERT INTO users (email, handle) VALUES ('b@x', 'ANN')"))
    db.execute("ALTER TABLE users ADD COLUMN nick TEXT")
    db.execute("CREATE UNIQUE INDEX ix_added_later ON users (upper(nick))")
    db.execute("UPDATE users SET nick = 'al'")
    later = _violation(db, "INSERT INTO users (email, nick) VALUES ('c@x', 'AL')")
    assert cache.complete(later).columns == ("nick",)
    assert loads == 2


def test_reloads_are_rate_limited(db: sqlite3.Connection) -> None:
    loads = 0

    def load() -> Catalog:
        nonlocal loads
        loads += 1
        return Catalog("sqlite", ())  # knows nothing

    cache = CatalogCache(load, refresh_after=3600)
    unknown = _violation(db, "INSERT INTO users (email, handle) VALUES ('b@x', 'ANN')")
    for _ in range(5):
        assert cache.complete(unknown) == unknown
    assert loads == 1


def test_a_failed_load_answers_with_what_the_error_said(
    db: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    def load() -> Catalog:
        raise sqlite3.OperationalError("database is locked")

    cache = CatalogCache(load)
    violation = _violation(db, "INSERT INTO users (email, handle) VALUES ('b@x', 'ANN')")
    with caplog.at_level(logging.WARNING, logger="httpconflict.catalog"):
        assert cache.complete(violation) == violation
    assert violation.kind is ViolationKind.UNIQUE
    assert "could not read the database catalog" in caplog.text


def test_the_async_loader_is_used_by_acomplete(db: sqlite3.Connection, tmp_path: Path) -> None:
    import aiosqlite

    async def aload() -> Catalog:
        async with aiosqlite.connect(tmp_path / "app.db") as conn:
            return await aload_catalog(conn)

    cache = CatalogCache(aload=aload)
    violation = _violation(db, "INSERT INTO users (email, handle) VALUES ('b@x', 'ANN')")
    assert asyncio.run(cache.acomplete(violation)).columns == ("handle",)
    with pytest.raises(TypeError):
        CatalogCache(aload=aload).complete(violation)
