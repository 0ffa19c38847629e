"""`SQLAlchemyIdempotencyStore`: the key store of an `IdempotencyMiddleware`, on the app's engine.

The table is the one `record_answer` writes in the app's transactions
(`_keys`), so under a transactional policy the middleware finds there the
answers the app recorded with its side effects, and records there the
answers the app did not (a refusal that wrote nothing). It is a whole
store, claims and leases included, so routes under the generic policy
keep their keys in the same table. Each primitive is one statement in a
transaction of its own: the claim and the record ``INSERT ... ON CONFLICT
DO UPDATE ... WHERE expires_at <= now`` (on MySQL and MariaDB ``INSERT ...
ON DUPLICATE KEY UPDATE`` and the row read back under its lock: `_keys`),
completion, release and renewal an ``UPDATE``/``DELETE`` that names the
claim's token. The statements run
on a sync `Engine` in a worker thread, on an `AsyncEngine` as they are;
a database that fails them is `Unavailable` (503 before the app ran).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Engine, delete, event, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from .._errors import Unavailable
from .._idempotency import Completion, Record, StoredResponse
from .._integrity import _mysql_code
from .._outage import outage_error
from .._request_writes import keys_own_statements
from ..storage.idempotency._rows import (
    COMPLETED,
    HELD_CLAIMS_KEPT,
    IN_FLIGHT,
    encode_headers,
    stored_body,
    to_record,
)
from ._keys import KEYS, MYSQL, inserted, recorded

__all__ = [
    "SQLAlchemyIdempotencyStore",
]

T = TypeVar("T")
_DUPLICATE_KEY_NAME: Final = 1061  # MySQL's ER_DUP_KEYNAME
#: Where a connection keeps when its server started (`server_started`).
_STARTED: Final = "httpconflict.server_started"
#: Starts of a server told apart by more than this: MySQL's uptime counts whole seconds.
#: A restart quicker than that reads as the same start, and is held from its start.
_SAME_START: Final = 1.0
#: Server starts a store remembers reaching.
_STARTS_KEPT: Final = 8
#: How long each dialect's server has run, in seconds (the row's last column).
_UPTIME: Final = {
    "postgresql": "SELECT extract(epoch FROM now() - pg_postmaster_start_time())",
    "mysql": "SHOW GLOBAL STATUS LIKE 'Uptime'",
    "mariadb": "SHOW GLOBAL STATUS LIKE 'Uptime'",
}
_RECORD_COLUMNS: Final = (
    KEYS.c.fingerprint,
    KEYS.c.state,
    KEYS.c.status,
    KEYS.c.headers,
    KEYS.c.body,
    KEYS.c.expires_at,
)


def _claimed(principal: str, key: str, token: str) -> Any:
    """The key's row while `token` holds its claim."""
    return (
        (KEYS.c.principal == principal)
        & (KEYS.c.key == key)
        & (KEYS.c.token == token)
        & (KEYS.c.state == IN_FLIGHT)
    )


class SQLAlchemyIdempotencyStore:
    """An `IdempotencyStore` in the ``idempotency_keys`` table of an app's SQLAlchemy engine.

    PostgreSQL, SQLite, MySQL and MariaDB. `open()` (or the first call) creates the table
    if it is not there (``CREATE TABLE IF NOT EXISTS``); a migration of
    yours may create it first (`idempotency_keys_table`).
    """

    def __init__(self, engine: Engine | AsyncEngine) -> None:
        self.engine = engine
        self._opened = False
        #: When this store first reached each start of the server it saw (`_answering_since`),
        #: and how many connections had broken by then.
        self._reached: dict[float, tuple[float, int]] = {}
        self._reaching = threading.Lock()
        #: Connections of the engine's pool found broken (a restart breaks them all).
        self._broken = 0
        event.listen(
            engine.sync_engine if isinstance(engine, AsyncEngine) else engine,
            "invalidate",
            self._connection_broken,
        )

    async def _run(self, work: Callable[[Connection], T]) -> T:
        """`work` in a transaction of its own; a failing database is `Unavailable`."""
        try:
            if isinstance(self.engine, AsyncEngine):
                with keys_own_statements():
                    async with self.engine.begin() as connection:
                        return await connection.run_sync(work)
            return await asyncio.to_thread(self._sync, work)
        except Unavailable:
            raise
        except Exception as error:
            # The core knows that a write whose answer was lost may have been made.
            failure = outage_error(error, "GET")
            if failure is None:
                raise
            assert isinstance(failure, Unavailable)
            raise failure from error

    def _sync(self, work: Callable[[Connection], T]) -> T:
        assert isinstance(self.engine, Engine)
        with keys_own_statements(), self.engine.begin() as connection:
            return work(connection)

    async def open(self) -> None:
        """Create the table unless it is there (calls do it too)."""
        if not self._opened:

            def open_store(connection: Connection) -> None:
                _create_table(connection)
                now = time.time()  # the server met: a later start of it is a restart
                self._answering_since(server_started(connection, now), now)

            await self._run(open_store)
            self._opened = True

    async def close(self) -> None:
        """Nothing to close: the engine is the app's (a later call opens the store again)."""
        self._opened = False

    def _connection_broken(self, *_: Any) -> None:
        self._broken += 1

    def _answering_since(self, started: float, now: float) -> float:
        """When the server that started at `started` began to answer, as far as this store knows.

        Its start; but for a start this store saw happen (it had reached the
        server before), its first call to it after, if that is later: a
        server recovering from a crash may take longer than a lease to take
        connections, and its backlog's records go in only once it does (a
        MariaDB that took more than a second to start under load ended a
        one-second quarantine before anyone could reach it).
        """
        if not started:
            return started  # no server to restart (SQLite), or one that cannot say
        with self._reaching:  # a sync engine's calls run in threads
            for known, (reached, broken) in self._reached.items():
                # The same start, read to the uptime's resolution (MySQL's counts whole
                # seconds of the server's clock: one start read twice may differ by a
                # second either way), unless a connection broke since: a server
                # restarted within a second or two of its start before read as that
                # start, and an expired claim of a request that ran meanwhile was
                # taken over at once. A connection broken for another reason (a proxy
                # cut it) holds claims one lease longer, nothing worse.
                if abs(known - started) <= _SAME_START and broken == self._broken:
                    return reached
            if len(self._reached) >= _STARTS_KEPT:
                self._reached.pop(next(iter(self._reached)))
            # The first start this store meets is taken as it is; a later one (a restart)
            # from now.
            reached = max(started, now) if self._reached else started
            self._reached[started] = (reached, self._broken)
            return reached

    async def _call(self, work: Callable[[Connection], T]) -> T:
        await self.open()
        return await self._run(work)

    async def ping(self) -> None:
        await self._run(lambda connection: connection.execute(text("SELECT 1")).scalar())

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        parameters = {
            "principal": principal,
            "key": key,
            "fingerprint": fingerprint,
            "token": token,
            "expires_at": now + lease,
            "now": now,
        }

        def claim(connection: Connection) -> Record | None:
            held_until = self._answering_since(server_started(connection, now), now) + lease
            parameters["held_until"] = held_until
            while not inserted(connection, IN_FLIGHT, parameters):
                live = _get(connection, principal, key, now)
                if live is not None:
                    return live
                if held_until > now:
                    held = _in_flight(connection, principal, key)
                    if held is not None:
                        return held
                # It expired between the two statements: claim again.
            return None

        return await self._call(claim)

    async def complete(
        self,
        principal: str,
        key: str,
        token: str,
        response: StoredResponse,
        *,
        now: float,
        retention: float,
        fingerprint: str | None = None,  # unused: the claim cannot vanish from under its owner
    ) -> bool:
        statement = (
            update(KEYS)
            .where(_claimed(principal, key, token))
            .values(
                state=COMPLETED,
                status=response.status,
                headers=encode_headers(response.headers),
                body=stored_body(response),
                expires_at=now + retention,
            )
        )
        return await self._changed(statement)

    async def release(self, principal: str, key: str, token: str) -> bool:
        return await self._changed(delete(KEYS).where(_claimed(principal, key, token)))

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
        # `fingerprint` is for a store that can lose its claims (Redis); this one cannot.
        claimed = _claimed(principal, key, token)
        return await self._changed(update(KEYS).where(claimed).values(expires_at=now + lease))

    async def _changed(self, statement: Any) -> bool:
        """Whether `statement` changed the one row it names."""
        return await self._call(lambda connection: connection.execute(statement).rowcount == 1)

    async def record(self, completion: Completion) -> bool:
        return await self._call(lambda connection: recorded(connection, completion))

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        return await self._call(lambda connection: _get(connection, principal, key, now))

    async def purge(self, *, now: float) -> int:
        def purge(connection: Connection) -> int:
            expired = KEYS.c.expires_at <= now
            if now < server_started(connection, now) + HELD_CLAIMS_KEPT:
                expired &= KEYS.c.state == COMPLETED  # claims a restart may hold (`claim`)
            return int(connection.execute(delete(KEYS).where(expired)).rowcount)

        return await self._call(purge)


def _create_table(connection: Connection) -> None:
    """``CREATE TABLE IF NOT EXISTS``, also when several processes open the store at once."""
    if connection.dialect.name == "postgresql":
        # Two such statements at once on PostgreSQL: one fails on its
        # catalogue's unique index. The lock the PostgreSQL stores take too.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('httpconflict.schema'))"))
    connection.execute(CreateTable(KEYS, if_not_exists=True))
    for index in KEYS.indexes:
        if connection.dialect.name not in MYSQL:
            connection.execute(CreateIndex(index, if_not_exists=True))
            continue
        # MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has): another
        # process may create the index between the look and the statement.
        if index.name in {each["name"] for each in inspect(connection).get_indexes(KEYS.name)}:
            continue
        try:
            connection.execute(CreateIndex(index))
        except DBAPIError as error:
            if error.orig is None or _mysql_code(error.orig)[0] != _DUPLICATE_KEY_NAME:
                raise


def server_started(connection: Connection, now: float) -> float:
    """When `connection`'s database server started (seconds since the epoch, our clock).

    For one lease after that an expired claim in flight is not taken over:
    its request may have run while the server was down and owe it its
    answer, which its process's backlog writes within about a second of
    the server's return; taken over before then, a resend would run it
    again (the PostgreSQL key store's rule). Read once per connection (a
    restart breaks every connection). SQLite has no server to restart: 0.
    """
    started = connection.info.get(_STARTED)
    if started is None:
        query = _UPTIME.get(connection.dialect.name)
        if query is None:
            started = 0.0
        else:
            # The server's uptime, not its clock: ours and the server's may differ.
            # In a savepoint: a server that cannot say (a PostgreSQL look-alike)
            # leaves the claim's transaction usable, and claims unquarantined.
            try:
                with connection.begin_nested():
                    row = connection.execute(text(query)).first()
            except DBAPIError:
                row = None
            started = now - float(row[-1]) if row is not None else 0.0
        connection.info[_STARTED] = started
    return float(started)


def _in_flight(connection: Connection, principal: str, key: str) -> Record | None:
    """The key's claim in flight, expired or not."""
    statement = select(*_RECORD_COLUMNS).where(
        (KEYS.c.principal == principal) & (KEYS.c.key == key) & (KEYS.c.state == IN_FLIGHT)
    )
    row = connection.execute(statement).first()
    return None if row is None else to_record(tuple(row))


def _get(connection: Connection, principal: str, key: str, now: float) -> Record | None:
    statement = select(*_RECORD_COLUMNS).where(
        (KEYS.c.principal == principal) & (KEYS.c.key == key) & (KEYS.c.expires_at > now)
    )
    row = connection.execute(statement).first()
    return None if row is None else to_record(tuple(row))
