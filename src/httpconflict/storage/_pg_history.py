"""PostgreSQL: a document's history, appended and pruned in each write's statement.

Each write inserts its new version into ``document_versions`` and deletes
the one version that thereby falls out of the `history` kept: the version
``history`` below it, by equality. Not every version at or below it (a
range): a deleted row's index entry stays until vacuum, and a range scan
starts at the document's oldest entry. With 20,000 pruned versions of one
document not yet vacuumed, the range's delete read 322 buffers, the
equality's 4 (tests/storage/test_pg_history.py); on 4 documents written
over and over (pgbench, 4 clients, 40 s), the write statement went from
7,100 to 8,000 a second.

The equality misses only what a larger setting kept: `keep` deletes that
once, when a store opens with fewer versions than the database last kept
(``history_kept``), or on the first open of a database made before it.
"""

from __future__ import annotations

import logging
from typing import Final

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

log = logging.getLogger("httpconflict")

__all__ = ["APPEND", "SCHEMA", "keep"]

_COLUMNS: Final = "collection, id, version, etag, body, modified_us"

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS history_kept (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    versions bigint NOT NULL     -- the versions per document the last store opened kept
);
"""

#: The CTEs a write statement appends its version and prunes with (after ``written``).
APPEND: Final = f"""
, recorded AS (
    INSERT INTO document_versions ({_COLUMNS}) SELECT {_COLUMNS} FROM written
), pruned AS (
    DELETE FROM document_versions v USING written w
    WHERE v.collection = w.collection AND v.id = w.id
      AND v.version = w.version - %(history)s::bigint
)"""

_SWEEP: Final = (
    "DELETE FROM document_versions v USING documents d "
    "WHERE v.collection = d.collection AND v.id = d.id AND v.version <= d.version - %s"
)


async def keep(conn: AsyncConnection[TupleRow], history: int) -> int:
    """Delete the versions beyond `history` that a larger setting kept; how many there were.

    One store at a time (an advisory lock): the first to open with a smaller
    setting deletes, the others find nothing left to do. A role granted its
    rights before ``history_kept`` existed may not read it: the store opens
    all the same (a smaller setting then applies to new versions only), and
    the log says what to grant.
    """
    try:
        return await _keep(conn, history)
    except psycopg.errors.InsufficientPrivilege as error:
        user = conn.info.user
        log.warning(
            "the database role %r may not read or write history_kept (%s): versions a larger "
            "--history kept are not deleted; as the tables' owner, GRANT SELECT, INSERT, "
            "UPDATE ON history_kept TO %s",
            user,
            error.diag.message_primary,
            user,
        )
        return 0


async def _keep(conn: AsyncConnection[TupleRow], history: int) -> int:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('httpconflict.history'))")
        row = await (await conn.execute("SELECT versions FROM history_kept")).fetchone()
        swept = 0
        if row is None or row[0] > history:
            swept = (await conn.execute(_SWEEP, (history,))).rowcount
        if row is None or row[0] != history:
            await conn.execute(
                "INSERT INTO history_kept (versions) VALUES (%s) "
                "ON CONFLICT (one_row) DO UPDATE SET versions = excluded.versions",
                (history,),
            )
        return swept
