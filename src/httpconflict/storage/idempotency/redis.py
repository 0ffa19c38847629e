"""Idempotency keys in Redis: Lua claims, leases and retention as TTLs, and an epoch.

As the store of `IdempotencyMiddleware` for an app whose side effects
Redis cannot commit with, the key is claimed before the app runs and its
answer recorded after: what follows keeps the window between the two
small, and says what it cannot close. The reference service does not use
Redis that way: there each answer is recorded in the write's own database
transaction, and this store is only a replay cache in front of it
(`cache.ReplayCache`: `get` and `record`, never needed for correctness).

A value is a first line, a state letter (``I`` in flight, ``C`` completed),
the 32-character claim token and the request's fingerprint; a completed
key goes on with a JSON line (status, headers) and the recorded body.
Every primitive is a Lua script (_redis_scripts.py) that compares state
and token before it writes, so a request that lost its claim (its lease
ran out and a retry took the key) cannot touch the new one. Expiry is
Redis's own: an expired key is simply gone.

Theory of operation, when Redis fails:

- Bounded waits. Each command gives up after `TIMEOUT` seconds (socket and
  connect timeouts; ``?socket_timeout=5`` in the URL says otherwise) and
  is sent again at most once, on a fresh connection, and only if the
  connection broke (a killed client): never after a timeout, which would
  only double the wait. A failure is `Unavailable`, which the middleware
  answers with 503 and Retry-After before the request runs.
- Refused is not done. Redis refuses a write for a state it is in (out
  of memory, a read-only replica after a failover, MISCONF, NOREPLICAS)
  before running any of it: a claim refused so is `Unavailable` and needs
  no taking back. Redis answers PING and reads meanwhile, so `ping`
  writes a key of its own: a store that cannot claim is down.
- Sent twice is done once. A command whose reply was lost may have been
  applied, and may be sent again: a claim that finds the key held by its
  own token has claimed it; a completion that finds its own answer is done.
- A claim that was not answered (timed out, connection lost) may still be
  applied, even seconds later: Redis runs what a frozen (SIGSTOPped)
  server had received as soon as it resumes. The store takes such a
  claim back in the background (a `Backlog`): it releases it until Redis
  says it released it, or twice, a second apart, that there was nothing to
  release. A claim landing later than two leases after it was sent holds
  its key for one lease: its retries get 409 until then.
- A completion that was not answered is deferred by the middleware and
  sent again until answered. One applied late is harmless: it only ever
  writes this request's own answer. If the key is absent (Redis lost it,
  or the lease ran out and nobody took the key since), the completion
  records the answer anyway: it is what happened under that key.
- Lost data. Without persistence, a Redis restart (like FLUSHALL, or a
  failover to an empty server) loses every key, and with them the claims
  of requests still running and the answers not yet recorded. Then a
  retry would find its key absent and run again. So the store keeps an
  epoch, `EPOCH_KEY`: a random id and the time it began, written once,
  without a TTL. Each claim carries the epoch id the store knows; if the
  epoch is missing or another, the keys were lost: the store begins (or
  adopts) the new epoch, and every claim of an absent key is refused with
  503 until the epoch is one lease old (the quarantine, measured on
  Redis's clock, shared by every process). By then every request that was
  in flight has either finished, and its deferred completion has been
  recorded (the backlog tries every second), or, still running (its claim
  renewed every third of a lease), claimed its key again: a renewal that
  finds its key absent while the epoch is younger than a lease knows that
  Redis lost it and that nobody can have claimed it since. So its retries
  get the replay, or 409 in flight. Keys present are answered as usual
  during the quarantine.

What the epoch cannot save: a key completed before the loss whose answer
then never reached its client, retried after the quarantine, runs again
(its record is gone). Redis with persistence (``appendonly yes``,
``appendfsync always``) loses nothing and avoids even that. A brand-new
Redis looks exactly like one that lost its data, so the first lease after
a store first meets it is a quarantine too, unless `end_quarantine` says
no process was running before. Keys must never be evicted: run Redis with
``maxmemory-policy noeviction``.
"""

from __future__ import annotations

try:
    import redis  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from ..._extras import missing_extra

    raise missing_extra(error, "redis", __name__) from None

import json
import logging
import math
import os
from typing import Any, Final

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..._errors import Unavailable
from ..._idempotency import Completion, Record, State, StoredResponse
from ..._incidents import unavailable
from .._opening import Opening
from . import _redis_scripts as scripts
from .backlog import Backlog

__all__ = [
    "RedisIdempotencyStore",
    "redis_client",
]

TOKEN_LENGTH: Final = 32
#: Seconds a command may take (to connect, or to answer) before it is given up; also how
#: long it waits for one of the pool's connections.
TIMEOUT: Final = 2.0
#: Connections to Redis a process holds at most (``?max_connections=`` in the URL: another).
MAX_CONNECTIONS: Final = 100
#: How many epoch changes a claim follows before giving up (they come from other processes).
_EPOCH_CHANGES: Final = 3
_PREFIX: Final = "httpconflict:idempotency:"
#: The key `ping` writes (an empty value, gone a minute after the last ping).
_PING_KEY: Final = _PREFIX + "ping"
_PING_TTL_MS: Final = 60_000
#: What redis-py lets through as it is when Redis closed a connection just
#: before a command was written on it: uvloop's RuntimeError ("the handler
#: is closed"), asyncio's TypeError or AttributeError on Python 3.12 and
#: later (redis-py issue 4287), an OSError. Seen under CLIENT KILL.
_TRANSPORT_CLOSED: Final = (RuntimeError, TypeError, AttributeError, OSError)
#: A command that failed with one of these: Redis is failing (503).
_FAILED: Final = (redis_errors.RedisError, *_TRANSPORT_CLOSED)
#: Failures after which a command may still have been applied.
_UNANSWERED: Final = (redis_errors.ConnectionError, redis_errors.TimeoutError, *_TRANSPORT_CLOSED)

log = logging.getLogger("httpconflict.idempotency")


def _name(principal: str, key: str) -> str:
    # Length-prefixed, so no principal and key can spell another pair.
    return f"{_PREFIX}{len(principal)}:{principal}:{key}"


def _record(value: bytes) -> Record:
    first_end = value.index(b"\n")
    fingerprint = value[1 + TOKEN_LENGTH : first_end].decode()
    if value[:1] == b"I":
        return Record(fingerprint, State.IN_FLIGHT)
    head_end = value.index(b"\n", first_end + 1)
    head = json.loads(value[first_end + 1 : head_end])
    headers = tuple((str(n), str(v)) for n, v in head["h"])
    response = StoredResponse(head["s"], headers, value[head_end + 1 :], bool(head.get("e")))
    return Record(fingerprint, State.COMPLETED, response)


def redis_client(url: str, *, timeout: float = TIMEOUT) -> Redis:
    """A Redis client with bounded waits, sending a command again only after a broken connection.

    At most `MAX_CONNECTIONS` connections; a command finding all of them busy waits
    for one up to `timeout`. The URL's query wins over these settings (``?socket_timeout=5``).
    """
    # As `Redis.from_url` makes it, on a pool that waits for a free connection: redis-py 8's
    # own holds 100 and refuses the next command at once ("Too many connections": a 503 for
    # each keyed request of a burst past 100 in a worker).
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis_errors.ConnectionError,)),
        # Named again for redis-py before 6.0, whose client retries only the errors named here.
        retry_on_error=[redis_errors.ConnectionError],
    )
    client = Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # closed with the client, as from_url's is
    return client


class RedisIdempotencyStore:
    """An `IdempotencyStore` on a Redis server.

    The first call (or `open()`) checks that Redis answers and learns its
    epoch, once per process; a process forked from one that used the store
    connects anew.
    """

    def __init__(
        self,
        url: str,
        *,
        client: Redis | None = None,
        timeout: float = TIMEOUT,
        incidents: bool = True,
    ) -> None:
        """`incidents`: log each failure as the incident of a 503 (False: the caller says
        what it makes of it, as a replay cache does, which answers no 503)."""
        self.url = url
        self._timeout = timeout
        self._incidents = incidents
        self._connect(client or redis_client(url, timeout=timeout))
        #: The epoch id this store knows ("" before it knows one).
        self.epoch = ""
        self._take_backs = Backlog()
        self._opening = Opening(self._open, forget=self._forget)

    def _connect(self, client: Redis) -> None:
        self._redis = client
        self._begin = client.register_script(scripts.BEGIN_EPOCH)
        self._end_quarantine = client.register_script(scripts.END_QUARANTINE)
        self._claim = client.register_script(scripts.CLAIM)
        self._complete = client.register_script(scripts.COMPLETE)
        self._release = client.register_script(scripts.RELEASE)
        self._renew = client.register_script(scripts.RENEW)

    async def open(self) -> None:
        """Check that Redis answers and learn its epoch, unless done already (calls do it too)."""
        await self._opening.ensure()

    async def _open(self) -> None:
        await self._call(self._redis.ping())
        self._adopt(await self._call(self._begin(keys=[scripts.EPOCH_KEY], args=[_new_id()])))

    def _forget(self) -> Redis:
        # The parent's connections stay the parent's; the child makes its own.
        inherited = self._redis
        self._connect(redis_client(self.url, timeout=self._timeout))
        self._take_backs = Backlog()
        return inherited

    async def _ready(self) -> None:
        if not self._opening.is_open:
            await self._opening.ensure()

    async def close(self) -> None:
        self._opening.closed()
        self._take_backs.cancel()
        self._take_backs = Backlog()  # its events belong to the loop it ran on
        await self._redis.aclose()

    async def ping(self) -> None:
        # A write, not a PING, which Redis answers while it refuses every write.
        await self._ready()
        await self._call(self._redis.set(_PING_KEY, b"", px=_PING_TTL_MS))

    async def end_quarantine(self) -> None:
        """Accept new keys at once: no process held a claim or owed an answer before.

        For a brand-new Redis, or one that lost its keys while every process
        using it was stopped. Otherwise the quarantine is what keeps a
        request that was running from running twice.
        """
        epoch = await self._call(self._end_quarantine(keys=[scripts.EPOCH_KEY], args=[_new_id()]))
        self._adopt(epoch)

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except _FAILED as error:
            what = "the idempotency-key store (Redis) does not answer"
            if not self._incidents:
                raise Unavailable(what) from error
            raise unavailable(what, error) from error

    def _adopt(self, epoch: bytes) -> None:
        known, self.epoch = self.epoch, epoch[: scripts.EPOCH_ID_LENGTH].decode()
        if known and known != self.epoch:
            log.warning(
                "Redis lost the idempotency keys (epoch %s is now %s: a restart without "
                "persistence, a failover or FLUSHALL); new keys wait until the epoch is "
                "one lease old, so that requests in flight record their answers first",
                known,
                self.epoch,
            )

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        if len(token) != TOKEN_LENGTH:
            raise ValueError(f"claim tokens are {TOKEN_LENGTH} characters")
        await self._ready()
        if "\n" in fingerprint:
            raise ValueError("a fingerprint is one line")
        name = _name(principal, key)
        value = f"I{token}{fingerprint}\n".encode()
        keys = [name, scripts.EPOCH_KEY]
        for _ in range(_EPOCH_CHANGES):
            try:
                reply = await self._call(
                    self._claim(keys=keys, args=[self.epoch, value, _ms(lease)])
                )
            except Unavailable as error:
                if isinstance(error.__cause__, _UNANSWERED):
                    self._take_back(name, token, lease)
                raise
            kind = reply[0]
            if kind == b"claimed":
                return None
            if kind == b"live":
                return _record(reply[1])
            if kind == b"quarantine":
                raise _quarantine(int(reply[1]), lease)
            epoch = reply[1]
            if epoch is None:
                epoch = await self._call(self._begin(keys=[scripts.EPOCH_KEY], args=[_new_id()]))
            self._adopt(epoch)
        raise Unavailable("the idempotency-key store's epoch keeps changing")

    def _take_back(self, name: str, token: str, lease: float) -> None:
        """Release, in the background, a claim that was sent but not answered."""
        answers = 0

        async def attempt() -> bool:
            nonlocal answers
            if await self._call(self._release(keys=[name], args=["I" + token])):
                return True
            answers += 1
            # Nothing to release, twice, a second apart: a claim sent before
            # either call is no longer waiting to run.
            return answers >= 2

        self._take_backs.add(
            attempt, within=2 * lease, what=f"take back the unanswered claim of {name!r}"
        )

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
        if fingerprint is not None and "\n" in fingerprint:
            raise ValueError("a fingerprint is one line")
        await self._ready()
        tail = _completed_tail(response)
        first = "" if fingerprint is None else f"{token}{fingerprint}\n"
        done = await self._call(
            self._complete(
                keys=[_name(principal, key)], args=["I" + token, first, tail, _ms(retention)]
            )
        )
        # 2, recorded already by this token, was recorded by an earlier call.
        return done in (1, 3)

    async def release(self, principal: str, key: str, token: str) -> bool:
        await self._ready()
        done = await self._call(self._release(keys=[_name(principal, key)], args=["I" + token]))
        return bool(done)

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
        if fingerprint is not None and "\n" in fingerprint:
            raise ValueError("a fingerprint is one line")
        await self._ready()
        name = _name(principal, key)
        value = "" if fingerprint is None else f"I{token}{fingerprint}\n"
        renewed = await self._call(
            self._renew(
                keys=[name, scripts.EPOCH_KEY], args=["I" + token, _ms(lease), value, _new_id()]
            )
        )
        if renewed == 2:
            log.warning(
                "the claim of %r was lost with Redis's keys while its request ran; "
                "claimed again for it (within the quarantine, nobody else can have)",
                name,
            )
        return bool(renewed)

    async def record(self, completion: Completion) -> bool:
        await self._ready()
        # No claim came first: the owner token is blank.
        first = f"C{' ' * TOKEN_LENGTH}{completion.fingerprint}\n".encode()
        value = first + _completed_tail(completion.response)
        ttl = _ms(completion.expires_at - completion.now)
        name = _name(completion.principal, completion.key)
        return bool(await self._call(self._redis.set(name, value, nx=True, px=ttl)))

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        await self._ready()
        current = await self._call(self._redis.get(_name(principal, key)))
        return None if current is None else _record(current)

    async def purge(self, *, now: float) -> int:
        # Redis expires keys by itself.
        return 0


def _completed_tail(response: StoredResponse) -> bytes:
    """A completed answer after the first line: a JSON head line, then the body.

    ``"e": 1`` in the head: the body echoes the request and is not stored.
    """
    head: dict[str, object] = {"s": response.status, "h": response.headers}
    if response.echoes:
        head["e"] = 1
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + response.body


def _quarantine(left_ms: int, lease: float) -> Unavailable:
    left = max(1, math.ceil(left_ms / 1000))
    return Unavailable(
        f"the idempotency-key store began a new epoch {max(0.0, lease - left_ms / 1000):.0f} s "
        "ago: it is new, or it lost its keys (a Redis restart without persistence, a failover "
        f"or FLUSHALL); new keys are accepted in {left} s, once every request that was running "
        "has recorded its answer",
        retry_after=left,
    )


def _new_id() -> str:
    return os.urandom(scripts.EPOCH_ID_LENGTH // 2).hex()


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
