"""Idempotency keys in Redis: claims are ``SET NX PX``, leases and retention are TTLs.

A value is a first line, a state letter (``I`` in flight, ``C`` completed),
the 32-character claim token and the request's fingerprint; a completed
key goes on with a JSON line (status, headers) and the recorded body.
Completion and release are Lua scripts that compare the state and token
before they write, so a request that lost its claim (its lease ran out and
a retry took the key) cannot touch the new one. Expiry is Redis's own: an
expired key is simply gone.
"""

from __future__ import annotations

import json
from typing import Any, Final

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from ..._errors import Unavailable
from ..._idempotency import Record, State, StoredResponse

TOKEN_LENGTH: Final = 32
_PREFIX: Final = "httpconflict:idempotency:"

# KEYS[1] key; ARGV[1] "I" .. token; ARGV[2] the completed tail; ARGV[3] TTL in ms.
# The first line keeps the token and fingerprint; its letter becomes "C".
_COMPLETE: Final = r"""
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  local first = string.sub(v, 2, string.find(v, "\n", 1, true))
  redis.call('SET', KEYS[1], 'C' .. first .. ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# KEYS[1] key; ARGV[1] "I" .. token
_RELEASE: Final = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


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
    return Record(
        fingerprint, State.COMPLETED, StoredResponse(head["s"], headers, value[head_end + 1 :])
    )


class RedisIdempotencyStore:
    """An `IdempotencyStore` on a Redis server."""

    def __init__(self, url: str, *, client: Redis | None = None) -> None:
        self.url = url
        self._redis = client or Redis.from_url(url)
        self._complete = self._redis.register_script(_COMPLETE)
        self._release = self._redis.register_script(_RELEASE)

    async def open(self) -> None:
        await self._call(self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (redis_errors.ConnectionError, redis_errors.TimeoutError) as error:
            raise Unavailable(f"Redis is unreachable: {error}") from error

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        if len(token) != TOKEN_LENGTH:
            raise ValueError(f"claim tokens are {TOKEN_LENGTH} characters")
        if "\n" in fingerprint:
            raise ValueError("a fingerprint is one line")
        name = _name(principal, key)
        value = f"I{token}{fingerprint}\n".encode()
        while True:
            if await self._call(self._redis.set(name, value, nx=True, px=_ms(lease))):
                return None
            current = await self._call(self._redis.get(name))
            if current is not None:
                return _record(current)
            # It expired between the two commands: claim again.

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
        head = json.dumps({"s": response.status, "h": response.headers}, separators=(",", ":"))
        tail = head.encode() + b"\n" + response.body
        done = await self._call(
            self._complete(keys=[_name(principal, key)], args=["I" + token, tail, _ms(retention)])
        )
        return bool(done)

    async def release(self, principal: str, key: str, token: str) -> bool:
        done = await self._call(self._release(keys=[_name(principal, key)], args=["I" + token]))
        return bool(done)

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        current = await self._call(self._redis.get(_name(principal, key)))
        return None if current is None else _record(current)

    async def purge(self, *, now: float) -> int:
        # Redis expires keys by itself.
        return 0


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
