"""A store's tables in PostgreSQL: set up when the role may, else found set up by their owner.

Each store opens by running its DDL (``CREATE ... IF NOT EXISTS``, and
``ALTER TABLE ... ADD COLUMN`` for tables made by an earlier version), one
worker at a time. A role given only the rights to read and write the
tables (the tables made by their owner, a least-privilege deployment) may
run none of it, even where there is nothing left to do: PostgreSQL checks
the right to create in the schema, or to own the table, first. So a role
refused (42501) is let through when every relation the DDL creates and
every column it adds is there; else the refusal names what is missing.

Even with nothing left to do, much of the DDL locks the tables it names
(``ALTER TABLE ... ADD COLUMN`` takes ACCESS EXCLUSIVE before it finds
the column there, ``CREATE INDEX IF NOT EXISTS`` SHARE before it finds
the index), and a lock that waits holds every later request on the table
behind it: an instance (or a worker uvicorn replaced) starting while
another transaction held the documents table (pg_dump's read, a long
write) stopped every request of every running instance until that
transaction ended. So the DDL waits `LOCK_WAIT` seconds at most for a
lock; given up, it is let through when everything it makes is there (as
for a role refused), and is otherwise a 503: the store opens on a later
request.
"""

from __future__ import annotations

import re
from typing import Final

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from .._incidents import unavailable

__all__ = [
    "SchemaNotSetUp",
    "set_up",
]

#: Seconds the DDL waits for a lock on a table before it is given up.
LOCK_WAIT: Final = 0.5
_CREATED: Final = re.compile(r"CREATE (?:TABLE|SEQUENCE|INDEX) IF NOT EXISTS (\w+)")
_ADDED: Final = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)")


class SchemaNotSetUp(Exception):
    """The role may not set the tables up, and they are not (all) there."""


async def set_up(conn: AsyncConnection[TupleRow], *ddl: str) -> None:
    """Run `ddl` in one transaction, taking turns with other workers; see the module's docstring."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('httpconflict.schema'))")
            await conn.execute(f"SET LOCAL lock_timeout = '{round(LOCK_WAIT * 1000)}ms'")
            for statements in ddl:
                await conn.execute(statements)
    except psycopg.errors.LockNotAvailable as error:
        missing = await _missing(conn, "\n".join(ddl))
        if missing:
            raise unavailable(
                f"{', '.join(missing)} must be added, and another transaction held a table "
                f"for {LOCK_WAIT:g} s (adding needs it alone, and every request would wait "
                "behind it): tried again on a later request",
                error,
            ) from error
    except psycopg.errors.InsufficientPrivilege as error:
        missing = await _missing(conn, "\n".join(ddl))
        if missing:
            user, why = conn.info.user, error.diag.message_primary
            raise SchemaNotSetUp(
                f"the database role {user!r} may not set up the tables ({why}), and "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not there: "
                "start the service once as the tables' owner (or a role that may create them "
                f"in the schema), then grant {user!r} SELECT, INSERT, UPDATE and DELETE on them "
                "and USAGE on their sequences"
            ) from error


async def _missing(conn: AsyncConnection[TupleRow], ddl: str) -> list[str]:
    """What `ddl` creates or adds that the database lacks, as "relation" or "table.column"."""
    relations = list(dict.fromkeys(_CREATED.findall(ddl)))
    columns = list(dict.fromkeys(_ADDED.findall(ddl)))
    cursor = await conn.execute(
        "SELECT r.name FROM unnest(%s::text[]) AS r(name) WHERE to_regclass(r.name) IS NULL",
        (relations,),
    )
    missing = [name for (name,) in await cursor.fetchall()]
    for table, column in columns:
        cursor = await conn.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s "
            "AND NOT attisdropped",
            (table, column),
        )
        if await cursor.fetchone() is None and table not in missing:
            missing.append(f"{table}.{column}")
    return missing
