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
from .._problem import DATABASE_RIGHT_MISSING
from ._unique import UniqueKey

__all__ = ["FUNCTION", "SCHEMA", "build_index", "drop_index"]

FUNCTION: Final = "httpconflict_unique_index(text, text, text[], boolean)"

# Each key's index: each field's value as jsonb (which tells the string "1"
# from the number 1, finds 1 equal to 1.0 and objects equal whatever the
# order of their members), NULLIF making a JSON null SQL NULL, which
# conflicts with nothing; partial on the collection. The names are held
# to the grammars `_unique` holds them to, so the function builds nothing
# else whatever its caller sends; its search_path is fixed (its schema,
# then pg_temp last), as a SECURITY DEFINER function's must be.
SCHEMA: Final = r"""
CREATE OR REPLACE FUNCTION httpconflict_unique_index(
    index_name text, collection text, fields text[], wanted boolean
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $fn$
DECLARE
    expressions text;
BEGIN
    IF index_name !~ '^documents_unique_[0-9a-f]{24}$' THEN
        RAISE EXCEPTION 'not the name of a unique key''s index: %', index_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT wanted THEN
        EXECUTE format('DROP INDEX IF EXISTS %I', index_name);
        RETURN;
    END IF;
    IF cardinality(fields) IS NULL OR cardinality(fields) NOT BETWEEN 1 AND 8
        OR EXISTS (SELECT FROM unnest(fields) AS f(name)
                   WHERE name IS NULL OR name !~ '^[A-Za-z_][A-Za-z0-9_-]{0,63}$') THEN
        RAISE EXCEPTION 'not the fields of a unique key: %', fields
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(format('(NULLIF(body::jsonb -> %L, ''null''::jsonb))', name), ', '
                      ORDER BY position)
        INTO expressions FROM unnest(fields) WITH ORDINALITY AS f(name, position);
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON documents (%s) WHERE collection = %L',
                   index_name, expressions, collection);
END
$fn$;
DO $$ BEGIN
    EXECUTE format(
        'ALTER FUNCTION httpconflict_unique_index(text, text, text[], boolean) '
        'SET search_path = %I, pg_temp', current_schema());
END $$;
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


async def _call(conn: AsyncConnection[TupleRow], params: tuple[object, ...]) -> None:
    try:
        await conn.execute(_CALL, params)
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
