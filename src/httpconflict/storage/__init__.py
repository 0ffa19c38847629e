"""Stores: the versioned document store and its backends.

`document_store(url)` picks the backend from a database URL:

- a file path, ``sqlite:///relative.db`` or ``sqlite:////absolute.db``: SQLite;
- ``postgresql://...`` or ``postgres://...`` (libpq syntax): PostgreSQL,
  which needs the ``postgres`` extra.

A collection's unique keys (`DocumentStore.declare_unique`) are written
as JSON the way `parse_unique_keys` reads and `format_unique_keys` writes.
Stores keep time in microseconds since the epoch (`from_micros` makes a
datetime of one); `CompletionFor` is what a write records under its
Idempotency-Key, made of the write's result.

Each write also appends a `Change` to the change feed; `ChangeFeed` reads
them in commit order (see `DocumentStore.change_feed`).

Backends are imported only when chosen, so `import httpconflict.storage`
loads no database driver but the stdlib's sqlite3.
"""

from __future__ import annotations

from typing import Final

from ._changes import Change, ChangeBounds, ChangeFeed, ChangesRead
from ._documents import (
    DEFAULT_HISTORY,
    CollectionSettings,
    CompletionFor,
    Document,
    DocumentStore,
    Listed,
    ListedVersion,
    Version,
    from_micros,
)
from ._sqlite import DEFAULT_BUSY_TIMEOUT_MS
from ._unique import UniqueKey, format_unique_keys, parse_unique_keys

__all__ = [
    "DEFAULT_HISTORY",
    "DEFAULT_PG_STATEMENT_TIMEOUT",
    "DEFAULT_SQLITE_BUSY_TIMEOUT",
    "Change",
    "ChangeBounds",
    "ChangeFeed",
    "ChangesRead",
    "CollectionSettings",
    "CompletionFor",
    "Document",
    "DocumentStore",
    "Listed",
    "ListedVersion",
    "UniqueKey",
    "Version",
    "document_store",
    "format_unique_keys",
    "from_micros",
    "parse_unique_keys",
]

#: Seconds a SQLite call waits for a lock on the file before its 503.
DEFAULT_SQLITE_BUSY_TIMEOUT: Final = DEFAULT_BUSY_TIMEOUT_MS / 1000
#: Seconds a PostgreSQL statement may take before its connection is cut.
DEFAULT_PG_STATEMENT_TIMEOUT: Final = 15.0


def document_store(
    url: str,
    *,
    history: int = DEFAULT_HISTORY,
    sqlite_busy_timeout: float = DEFAULT_SQLITE_BUSY_TIMEOUT,
    pg_statement_timeout: float = DEFAULT_PG_STATEMENT_TIMEOUT,
    pg_group_commit: bool = False,
) -> DocumentStore:
    """Make the document store for a database URL (not opened yet).

    `sqlite_busy_timeout`: on SQLite, how many seconds a call waits for a
    lock another connection holds on the file (off the event loop) before
    it fails with `Unavailable`. `pg_statement_timeout`: on PostgreSQL, how
    many seconds a statement may take before its connection is cut (a read
    fails with `Unavailable`, a write with `WriteOutcomeUnknown`);
    `pg_group_commit`: whether If-Match PUTs in hand share a statement
    (`PostgresDocumentStore`).
    """
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresDocumentStore

        return PostgresDocumentStore(
            url,
            history=history,
            statement_timeout=pg_statement_timeout,
            group_commit=pg_group_commit,
        )
    if "://" in url and not url.startswith("sqlite://"):
        scheme = url.split("://", 1)[0]
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}; use a file path or postgresql://"
        )
    from .sqlite import SQLiteDocumentStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return SQLiteDocumentStore(
        path, history=history, busy_timeout_ms=round(sqlite_busy_timeout * 1000)
    )
