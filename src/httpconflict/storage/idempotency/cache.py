"""A replay cache: copies of recorded answers in front of the store whose records decide.

Theory of operation: the service records each keyed write's answer in the
write's own transaction, in the documents' database (the record that
decides whether a resend runs). With ``--idempotency redis://...`` (or
any store apart from the documents) that store is only a cache in front:
the flow looks a resend up there first and replays what it finds without
touching the database, and copies each answer there once it is recorded
(`httpconflict._idempotency`, `Recall` and `Remember`). A copy ends when
its record does, so the cache never answers for a key the database has
forgotten, and it never holds an answer that was not recorded.

A cache may be shared by services on other databases (one Redis for
staging and production, or for a database deleted and made again): each
copy is kept under the documents' database's name (`database`, the
store's `database_id`) as well as the caller's, so a key sent to one is
never answered with another's answer (a 201 for a document that the
database it names does not hold). Until that name is known (the database
has not answered yet), the cache is not asked.

So the cache is never needed for a correct answer, and a cache that fails
must not slow every write down: after a failure, `ReplayCache` is not
asked again for `PAUSE` seconds (its calls fail at once, which the flow
treats as "not there"); Redis is given `TIMEOUT` seconds per command, not
the key store's two, and a PostgreSQL cache as long per statement, not the
database's 15 (`_pg_pool`: the connection is cut). The first failure of an
outage is logged as a warning, and its end as a note.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeAlias, TypeVar

from ..._errors import Unavailable
from ..._idempotency import Completion, Record
from ..._incidents import describe
from ..._redact import redact, secrets_in
from . import IdempotencyStore, idempotency_store

__all__ = [
    "PAUSE",
    "TIMEOUT",
    "ReplayCache",
    "replay_cache",
]

#: Seconds the cache is left alone after it failed.
PAUSE: Final = 1.0
#: Seconds a Redis command or PostgreSQL statement of the cache may take: a miss costs
#: less than a wait.
TIMEOUT: Final = 0.5

log = logging.getLogger("httpconflict.idempotency")

T = TypeVar("T")
#: Asks the documents' database for its name (`DocumentStore.database_id`).
DatabaseName: TypeAlias = Callable[[], Awaitable[str]]


def replay_cache(url: str, *, database: DatabaseName | None = None) -> ReplayCache:
    """The replay cache at `url` (``redis://...``, ``memory``, ``postgresql://...``, a file).

    `database`: the name of the database whose answers it holds copies of
    (`DocumentStore.database_id`), which keeps them apart from another's.
    """
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisIdempotencyStore

        store: IdempotencyStore = RedisIdempotencyStore(url, timeout=TIMEOUT, incidents=False)
    elif url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresIdempotencyStore

        store = PostgresIdempotencyStore(url, statement_timeout=TIMEOUT)
    else:
        store = idempotency_store(url)
    return ReplayCache(store, redact(url, secrets_in(url)), database=database)


class ReplayCache:
    """An idempotency store as a replay cache: `get` and `record` only, paused after failing."""

    def __init__(
        self,
        store: IdempotencyStore,
        name: str,
        *,
        pause: float = PAUSE,
        clock: Callable[[], float] = time.monotonic,
        database: DatabaseName | None = None,
    ) -> None:
        self.store = store
        self._database = database
        #: The cache as the log names it (no password).
        self.name = name
        self._pause = pause
        self._clock = clock
        #: Until when (on `clock`) the cache is not asked; 0 while it answers.
        self._paused_until = 0.0
        self._failing = False

    async def open(self) -> None:
        """Open the store if it answers; if not, the first calls that need it try again."""
        try:
            await self.store.open()
        except Unavailable as error:
            self._failed(error)

    async def close(self) -> None:
        await self.store.close()

    async def ping(self) -> None:
        await self.store.ping()

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        scoped = await self._scoped(principal)
        return await self._ask(lambda: self.store.get(scoped, key, now=now))

    async def record(self, completion: Completion) -> bool:
        scoped = dataclasses.replace(completion, principal=await self._scoped(completion.principal))
        return await self._ask(lambda: self.store.record(scoped))

    async def _scoped(self, principal: str) -> str:
        """`principal` within the database's name: the name the cache keeps its copies under."""
        if self._database is None:
            return principal
        # Unavailable while the database does not answer: the flow then goes
        # to the database, which answers that (a failure of the cache's own
        # would leave it alone for a while, and log that it does not answer).
        database = await self._database()
        # Length-prefixed, so no database and principal can spell another pair.
        return f"{len(database)}:{database}:{principal}"

    async def purge(self, *, now: float) -> int:
        return await self._ask(lambda: self.store.purge(now=now))

    async def _ask(self, call: Callable[[], Awaitable[T]]) -> T:
        if self._clock() < self._paused_until:
            raise Unavailable("the replay cache failed a moment ago; it is left alone for now")
        try:
            answer = await call()
        except Unavailable as error:
            self._failed(error)
            raise
        if self._failing:
            self._failing = False
            log.info("the replay cache (%s) answers again", self.name)
        return answer

    def _failed(self, error: Unavailable) -> None:
        self._paused_until = self._clock() + self._pause
        if not self._failing:
            self._failing = True
            log.warning(
                "the replay cache (%s) does not answer (%s): resends are looked up in the "
                "database alone until it does; nothing else changes",
                self.name,
                describe(error.__cause__ or error),
            )
