"""Unique keys' indexes on PostgreSQL, built by a function of the tables' owner.

A unique key is enforced by a unique index on the documents table (see
`_unique`), and PostgreSQL lets only a table's owner build or drop an
index on it: a service running as a role that may only read and write
the tables (a least-privilege deployment, docs/scaling.md) would fail to
declare a key. So the owner, when it sets the tables up, also makes
`FUNCTION`, ``SECURITY DEFINER``: it runs with the owner's rights, and
does only this, a unique index named as `_unique.index_name` names them
over named top-level fields, or the drop of one so named. The role is
granted EXECUTE on it (PUBLIC is not); without that grant, or before the
owner has made the function, a declaration is refused, a 403 that names
the grant and what to run, never a 500.

Building an index locks the documents table in SHARE mode (no write
runs meanwhile) and dropping one in ACCESS EXCLUSIVE mode (nothing
does), and a lock that waits holds every later request for one on the
table behind it: a declaration made while another transaction held the
table (a long write; pg_dump's read) stopped every write, or every
request, of every collection until that transaction ended. So a
declaration waits for the table `LOCK_WAIT` seconds at most, then is a
503 that changed nothing (`briefly`), and a key whose index is there
already is not built again (`present`): a declaration that changes no
key (access rules only, or the same keys again) takes no lock on it.

Enforcing the keys without DDL (a table of the values taken, kept by a
trigger on every write) would cost every write of every collection a
trigger and a lookup of its keys, for a declaration made once: the
index, which decides a race in the database, stays, and only who builds
it moves.
"""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from .._errors import ProblemError
from .._incidents import unavailable
from .._problem import DATABASE_RIGHT_MISSING
from ._unique import UniqueKey

__all__ = ["FUNCTION", "LOCK_WAIT", "SCHEMA", "briefly", "build_index", "drop_index", "present"]

FUNCTION: Final = "httpconflict_unique_index(text, text, text[], boolean)"
#: Seconds a declaration waits for its lock on the documents table: every
#: request for one that comes meanwhile waits behind it. Holders of a write
#: or a read end in milliseconds; one that holds on is no short wait away.
LOCK_WAIT: Final = 0.5

# Each key's index: each field's value as jsonb (which tells the string "1"
# from the number 1, finds 1 equal to 1.0 and objects equal whatever the
# order of their members), NULLIF making a JSON null SQL NULL, which
# conflicts with nothing; partial on the collection.
#
# The function runs with its owner's rights whatever its caller sends, so:
# - the name must be the one `_unique.index_name` gives the collection and
#   fields (the same hash of the same JSON, `json.dumps` escaping rebuilt
#   here): a name always means one key's index, and a caller cannot build
#   under a declaration's name an index of other fields or another
#   collection, which a later declaration would take for its own;
# - a drop drops only such a name's index on the documents table;
# - its search_path is pg_catalog, then pg_temp, nothing else, and the
#   table is named with its schema: a role that may create in the tables'
#   schema could otherwise overload a function or operator the body or the
#   index uses (cardinality(text[]) is a closer match than pg_catalog's
#   cardinality(anyarray)) and have it run as the owner. "@schema@" is the
#   owner's schema, as a literal, put in when the function is made.
SCHEMA: Final = r"""
DO $make$ BEGIN EXECUTE replace($function$
CREATE OR REPLACE FUNCTION httpconflict_unique_index(
    index_name text, collection text, fields text[], wanted boolean
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    tables_schema CONSTANT text := @schema@;
    documents CONSTANT text := format('%I.documents', tables_schema);
    expressions text;
    key_json text;
BEGIN
    IF index_name IS NULL OR index_name !~ '^documents_unique_[0-9a-f]{24}$'
        OR wanted IS NULL THEN
        RAISE EXCEPTION 'not the name of a unique key''s index: %', index_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT wanted THEN
        IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                   WHERE c.relname = index_name AND c.relnamespace =
                       (SELECT oid FROM pg_namespace WHERE nspname = tables_schema)
                   AND (i.indrelid <> documents::regclass OR NOT i.indisunique)) THEN
            RAISE EXCEPTION 'not a unique key''s index: %', index_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        EXECUTE format('DROP INDEX IF EXISTS %I.%I', tables_schema, index_name);
        RETURN;
    END IF;
    IF collection IS NULL OR cardinality(fields) IS NULL
        OR cardinality(fields) NOT BETWEEN 1 AND 8
        OR EXISTS (SELECT FROM unnest(fields) AS f(name)
                   WHERE name IS NULL OR name !~ '^[A-Za-z_][A-Za-z0-9_-]{0,63}$') THEN
        RAISE EXCEPTION 'not the fields of a unique key: %', fields
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- json.dumps(["1", collection, *fields]), ASCII only; the fields need no escape.
    SELECT '["1", "' || coalesce(string_agg(CASE
            WHEN ch = '"' OR ch = E'\\' THEN E'\\' || ch
            WHEN ch = E'\b' THEN E'\\b' WHEN ch = E'\f' THEN E'\\f'
            WHEN ch = E'\n' THEN E'\\n' WHEN ch = E'\r' THEN E'\\r' WHEN ch = E'\t' THEN E'\\t'
            WHEN ascii(ch) BETWEEN 32 AND 126 THEN ch
            WHEN ascii(ch) < 65536 THEN E'\\u' || lpad(to_hex(ascii(ch)), 4, '0')
            ELSE E'\\u' || to_hex(55296 + ((ascii(ch) - 65536) >> 10))
                || E'\\u' || to_hex(56320 + ((ascii(ch) - 65536) & 1023))
        END, '' ORDER BY n), '') || '", "' || array_to_string(fields, '", "') || '"]'
        INTO key_json FROM regexp_split_to_table(collection, '') WITH ORDINALITY AS c(ch, n)
        WHERE ch <> '';
    IF index_name <> 'documents_unique_'
        || left(encode(sha256(convert_to(key_json, 'UTF8')), 'hex'), 24) THEN
        RAISE EXCEPTION 'not the name of the index of this unique key: %', index_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(format('(NULLIF(body::jsonb -> %L, ''null''::jsonb))', name), ', '
                      ORDER BY position)
        INTO expressions FROM unnest(fields) WITH ORDINALITY AS f(name, position);
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %s (%s) WHERE collection = %L',
                   index_name, documents, expressions, collection);
END
$fn$;
$function$, '@schema@', quote_literal(current_schema())); END $make$;
REVOKE ALL ON FUNCTION httpconflict_unique_index(text, text, text[], boolean) FROM PUBLIC;
"""

_CALL: Final = "SELECT httpconflict_unique_index(%s, %s, %s, %s)"


class DatabaseRightMissing(ProblemError):
    """The service's database role may not run what the request needs (403)."""

    problem_type = DATABASE_RIGHT_MISSING


async def build_index(
    conn: AsyncConnection[TupleRow], name: str, collection: str, key: UniqueKey
) -> None:
    """Build the index `name` enforcing `key` in `collection`, unless it is there."""
    await _call(conn, (name, collection, list(key), True))


async def drop_index(conn: AsyncConnection[TupleRow], name: str) -> None:
    """Drop the index `name`, if it is there."""
    await _call(conn, (name, "", [], False))


async def briefly(conn: AsyncConnection[TupleRow]) -> None:
    """In the declaration's transaction: a lock not granted within `LOCK_WAIT` s is given up."""
    await conn.execute(f"SET LOCAL lock_timeout = '{round(LOCK_WAIT * 1000)}ms'")


async def present(conn: AsyncConnection[TupleRow], names: list[str]) -> set[str]:
    """Which of the indexes `names` are there, in the tables' schema (asking locks nothing)."""
    found = await conn.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'i' "
        "AND relnamespace = current_schema()::regnamespace AND relname = ANY(%s)",
        (names,),
    )
    return {name for (name,) in await found.fetchall()}


async def hold_writes(conn: AsyncConnection[TupleRow]) -> None:
    """Keep writes to the documents out until the declaration's transaction ends.

    SHARE mode, which building an index takes anyway: stored documents read
    before the build are all there are when it commits.
    """
    try:
        await conn.execute("LOCK TABLE documents IN SHARE MODE")
    except psycopg.errors.LockNotAvailable as error:
        raise _held_too_long(error) from error


def _held_too_long(error: psycopg.errors.LockNotAvailable) -> Exception:
    return unavailable(
        f"another transaction held the documents table for {LOCK_WAIT:g} s; declaring "
        "unique keys needs it alone, for a moment (requests behind the declaration "
        "would wait): nothing was changed",
        error,
    )


async def _call(conn: AsyncConnection[TupleRow], params: tuple[object, ...]) -> None:
    try:
        await conn.execute(_CALL, params)
    except psycopg.errors.LockNotAvailable as error:
        raise _held_too_long(error) from error
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFunction) as error:
        role = conn.info.user
        why = (
            "has no EXECUTE right on it"
            if isinstance(error, psycopg.errors.InsufficientPrivilege)
            else "cannot find it (the tables' owner has not made it yet)"
        )
        raise DatabaseRightMissing(
            f"declaring a unique key builds an index, which PostgreSQL lets only the "
            f"documents table's owner do; the owner makes the function {FUNCTION} to do "
            f"it, and the service's database role {role!r} {why}: start the service "
            f"once as the tables' owner, then run GRANT EXECUTE ON FUNCTION {FUNCTION} "
            f"TO {role}; nothing was changed",
            function=FUNCTION,
            role=role,
        ) from error
