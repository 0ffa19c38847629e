"""A table held by another PostgreSQL session: a long write, or pg_dump's read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import LiteralString


@contextmanager
def table_held(db: str, statement: LiteralString) -> Iterator[None]:
    """Another session runs `statement` in a transaction, holding its locks until the block ends."""
    import psycopg

    with psycopg.connect(db) as other:
        other.execute(statement)
        try:
            yield
        finally:
            other.rollback()
