"""Idempotency-key stores: where claims, leases and recorded answers live.

Every store carries out the lifecycle of `httpconflict._idempotency` with
atomic primitives, and treats a record whose time is up (`expires_at <=
now`: a lease or the retention has run out) as absent:

- `claim`: make the key IN_FLIGHT for this request (owner `token`) if it is
  absent, in ONE atomic step (INSERT ... ON CONFLICT ... WHERE expired;
  SET NX PX); otherwise return the live record;
- `complete`: record the answer, only if `token` still owns the claim (a
  store that can lose claims, Redis, also records it where the key is
  absent, given the request's `fingerprint`);
- `release`: drop the claim, only if `token` still owns it;
- `renew`: extend the claim by a lease from now, only if `token` still
  owns it (a running request keeps its claim so; Redis, which can lose
  claims, also claims the key again where it lost it, given the request's
  `fingerprint`);
- `get`: the live record, if any; `purge`: delete what has expired;
- `ping`: raise `Unavailable` unless the store answers (for /healthz).

A store opens itself on its first call (or `open()`), once per process,
and a process forked after it was used opens its own connections
(`.._opening`). `idempotency_store(url)` picks one: ``memory`` (one process), a SQLite file
or ``postgresql://`` URL (tables next to the documents), ``redis://``.
A primitive the store cannot carry out raises `Unavailable`; writes that
the middleware still owes after answering wait in a `backlog.Backlog`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from ..._idempotency import Completion, Record, StoredResponse

if TYPE_CHECKING:
    from .._documents import DocumentStore

DEFAULT_LEASE: Final = 30.0
DEFAULT_RETENTION: Final = 24 * 3600.0


class IdempotencyStore(Protocol):
    """Atomic primitives over idempotency keys (see the module docstring)."""

    async def open(self) -> None:
        """Connect and create what the store needs, once per process; calls do it too.

        Calling it is optional: the first call of any other primitive opens
        the store (once, however many requests make it at once), so an app
        need not open it in a start-up hook; one that does learns of a wrong
        URL at start-up rather than at its first request.
        """

    async def close(self) -> None:
        """Close the connections; a later call opens the store again."""

    async def ping(self) -> None:
        """Raise `Unavailable` unless the store answers (a health check)."""

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        """None if this request now holds the key; else the live record."""

    async def complete(
        self,
        principal: str,
        key: str,
        token: str,
        response: StoredResponse,
        *,
        now: float,
        retention: float,
        fingerprint: str | None = None,
    ) -> bool:
        """Record `response`; False if `token` no longer holds the claim.

        `fingerprint` (the request's) lets a store that lost the claim
        record the answer anyway, where the key is absent.
        """

    async def release(self, principal: str, key: str, token: str) -> bool:
        """Drop the claim; False if `token` no longer holds it."""

    async def renew(
        self,
        principal: str,
        key: str,
        token: str,
        *,
        now: float,
        lease: float,
        fingerprint: str | None = None,
    ) -> bool:
        """Hold the claim until `now + lease`; False if `token` no longer holds it.

        `fingerprint` (the request's) lets a store that lost the claim with
        its data (Redis restarted empty) claim the key again for the request
        still running, while no other request can have claimed it since.
        """

    async def record(self, completion: Completion) -> bool:
        """Record a completed answer under a key that holds none: True; False if one is live.

        For an answer that is not recorded in the transaction of a side
        effect (there was none: a refusal), under a transactional policy.
        """

    async def get(self, principal: str, key: str, *, now: float) -> Record | None: ...

    async def purge(self, *, now: float) -> int:
        """Delete expired records; how many."""


def idempotency_store(url: str, *, documents: DocumentStore | None = None) -> IdempotencyStore:
    """The store for a URL: ``memory``, ``redis://...``, ``postgresql://...`` or a SQLite path.

    SQLAlchemy's URL of the same database (``postgresql+psycopg2://...``,
    ``sqlite+pysqlite:///...``) names it too: an app passes the URL it has.

    ``db`` means "beside these `documents`", on their connection or pool, so
    that a key can be completed in the transaction of a document write.
    """
    if url == "db":
        if documents is None:
            raise ValueError("an idempotency store 'db' needs the document store it sits beside")
        return documents.idempotency_store()
    url = _without_driver(url)
    if url == "memory":
        from .memory import MemoryIdempotencyStore

        return MemoryIdempotencyStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisIdempotencyStore

        return RedisIdempotencyStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresIdempotencyStore

        return PostgresIdempotencyStore(url)
    if url.startswith(("mysql://", "mariadb://")):
        raise ValueError(
            f"idempotency store URL {url!r}: MySQL and MariaDB keys live in a table of the "
            "app's SQLAlchemy engine, httpconflict.sqlalchemy.SQLAlchemyIdempotencyStore(engine)"
        )
    if "://" in url and not url.startswith("sqlite://"):
        raise ValueError(f"unsupported idempotency store URL {url!r}")
    from .sqlite import SQLiteIdempotencyStore

    return SQLiteIdempotencyStore(url.removeprefix("sqlite:///"))


def _without_driver(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg2://...`` (an app's database URL, which names its
    driver) as ``postgresql://...``: the store connects with a driver of its own."""
    scheme, separator, rest = url.partition("://")
    dialect, plus, _driver = scheme.partition("+")
    if separator and plus and dialect in ("postgresql", "postgres", "sqlite", "mysql", "mariadb"):
        return f"{dialect}://{rest}"
    return url


__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_RETENTION",
    "Completion",
    "IdempotencyStore",
    "idempotency_store",
]
