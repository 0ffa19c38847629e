"""PostgreSQL: a write prunes its document's history without stepping over pruned versions.

A pruned version's index entry stays until vacuum. The prune used to delete
every version at or below the oldest kept, a range scan from the
document's first entry: a document written n times since the last vacuum
made each of its writes read n dead entries. The plan of the write
statement itself is read here (EXPLAIN ANALYZE, BUFFERS, in a transaction
rolled back), with 20,000 pruned versions that vacuum has not removed.

The prune deletes by equality, so what a larger setting kept is deleted
once, when a store opens with a smaller one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from httpconflict.storage.postgres import PostgresDocumentStore, _update_sql
from tests.storage.test_document_store import ABSENT, anyio_backend, match, put, tag

__all__ = ["anyio_backend"]

pytestmark = pytest.mark.anyio

PRUNED = 20_000
KEPT = 3


def _modified_blocks(plan: dict[str, Any], table: str) -> Iterator[int]:
    """The buffers each node writing `table` touched (its own reads included)."""
    if plan.get("Node Type") == "ModifyTable" and plan.get("Relation Name") == table:
        yield plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
    for child in plan.get("Plans", ()):
        yield from _modified_blocks(child, table)


async def _written(url: str, history: int, writes: int) -> None:
    store = PostgresDocumentStore(url, history=history)
    await store.open()
    try:
        body = '{"n": 0}'
        assert await put(store, body, ABSENT)
        for n in range(1, writes + 1):
            new = f'{{"n": {n}}}'
            assert await put(store, new, match(body), at=1_000_000 + n)
            body = new
    finally:
        await store.close()


def _kept(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT version FROM document_versions WHERE id = 'a' ORDER BY version"
        ).fetchall()
    return [version for (version,) in rows]


async def test_a_write_reads_none_of_the_pruned_versions(postgres_schema: str) -> None:
    """20,000 pruned versions not yet vacuumed: the prune reads a handful of buffers."""
    await _written(postgres_schema, KEPT, KEPT)
    last = PRUNED + KEPT + 1
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute("ALTER TABLE document_versions SET (autovacuum_enabled = false)")
        # The document as if written PRUNED times more, its history pruned as it went.
        conn.execute(
            "INSERT INTO document_versions (collection, id, version, etag, body, modified_us) "
            "SELECT 'c', 'a', g, 'e' || g, '{}', g FROM generate_series(%s::bigint, %s::bigint) g",
            (KEPT + 2, last),
        )
        conn.execute(
            "UPDATE documents SET version = %s, etag = %s WHERE id = 'a'", (last, f"e{last}")
        )
        conn.execute("DELETE FROM document_versions WHERE version <= %s", (last - KEPT,))
        with conn.transaction(force_rollback=True):
            params = {
                "collection": "c",
                "id": "a",
                "etags": f"e{last}",
                "etag": tag('{"n": "new"}'),
                "body": b'{"n": "new"}',
                "now": 2_000_000,
                "history": KEPT,
            }
            explain = b"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
            sql = explain + _update_sql("etag = %(etags)s", False)
            row = conn.execute(sql, params).fetchone()
            assert row is not None
            plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
            versions = conn.execute(
                "SELECT version FROM document_versions WHERE id = 'a' ORDER BY version"
            ).fetchall()
    blocks = list(_modified_blocks(plan[0]["Plan"], "document_versions"))
    # The insert and the delete; a range scan over 20,000 dead entries reads 80 or more.
    assert len(blocks) == 2, plan
    assert max(blocks) < 20, blocks
    assert versions == [(last - KEPT + 2,), (last - KEPT + 3,), (last + 1,)]


async def test_a_smaller_setting_deletes_what_a_larger_one_kept(postgres_schema: str) -> None:
    """Opened with fewer versions, the store deletes the surplus once; with more, none."""
    await _written(postgres_schema, 6, 8)
    assert _kept(postgres_schema) == [4, 5, 6, 7, 8, 9]
    store = PostgresDocumentStore(postgres_schema, history=2)
    await store.open()
    try:
        assert _kept(postgres_schema) == [8, 9]
        listed = await store.version_members("c", "a", before=None, limit=10)
        assert [v.version for v in listed or ()] == [9, 8]
    finally:
        await store.close()
    store = PostgresDocumentStore(postgres_schema, history=4)
    await store.open()
    try:
        assert _kept(postgres_schema) == [8, 9]
        assert await put(store, '{"n": 9}', match('{"n": 8}'), at=3_000_000)
        assert await put(store, '{"n": 10}', match('{"n": 9}'), at=3_000_001)
        assert await put(store, '{"n": 11}', match('{"n": 10}'), at=3_000_002)
        assert _kept(postgres_schema) == [9, 10, 11, 12]
    finally:
        await store.close()


async def test_a_database_kept_before_is_swept_at_its_first_open(postgres_schema: str) -> None:
    """A database holding more versions than the setting and no record of it: swept once."""
    await _written(postgres_schema, 6, 8)
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute("DROP TABLE history_kept")
    await _written_again(postgres_schema)
    assert _kept(postgres_schema) == [9, 10, 11]
    with psycopg.connect(postgres_schema) as conn:
        assert conn.execute("SELECT versions FROM history_kept").fetchall() == [(3,)]


async def _written_again(url: str) -> None:
    store = PostgresDocumentStore(url, history=3)
    await store.open()
    try:
        assert await put(store, '{"n": 9}', match('{"n": 8}'), at=3_000_000)
        assert await put(store, '{"n": 10}', match('{"n": 9}'), at=3_000_001)
    finally:
        await store.close()


async def test_an_old_version_is_found_among_the_kept_only(postgres_schema: str) -> None:
    """`version_body` finds a kept version's body by its tag, and none of a pruned one."""
    await _written(postgres_schema, KEPT, 5)
    store = PostgresDocumentStore(postgres_schema, history=KEPT)
    await store.open()
    try:
        assert await store.version_body("c", "a", tag('{"n": 3}')) == b'{"n": 3}'
        assert await store.version_body("c", "a", tag('{"n": 2}')) is None
    finally:
        await store.close()


async def test_versions_beyond_the_setting_are_never_served(postgres_schema: str) -> None:
    """Versions left below the window (a role that could not sweep them): listed and read as
    gone."""
    await _written(postgres_schema, KEPT, 5)
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO document_versions (collection, id, version, etag, body, modified_us) "
            "VALUES ('c', 'a', 1, %s, '{\"n\": 0}', 1)",
            (tag('{"n": 0}'),),
        )
    store = PostgresDocumentStore(postgres_schema, history=KEPT)
    await store.open()
    try:
        listed = await store.version_members("c", "a", before=None, limit=10)
        assert [v.version for v in listed or ()] == [6, 5, 4]
        assert await store.version_body("c", "a", tag('{"n": 0}')) is None
        assert await store.version_body("c", "a", tag('{"n": 4}')) == b'{"n": 4}'
    finally:
        await store.close()
