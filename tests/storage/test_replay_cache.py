"""A replay cache on a frozen Redis costs one short wait, then nothing, until it answers again.

A private Redis (tests/private_redis.py) is frozen (SIGSTOP): the first
call waits `TIMEOUT` and fails; the calls in the `PAUSE` after it fail at
once, without asking; after the pause one call asks again; once Redis is
thawed, the cache answers, and the copy it was given before is there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import pytest

from httpconflict import Unavailable
from httpconflict._idempotency import Completion, State, StoredResponse
from httpconflict.storage.idempotency.cache import PAUSE, TIMEOUT, replay_cache
from tests.private_redis import PrivateRedis

pytest.importorskip("redis")

ANSWER = StoredResponse(201, (("location", "/v1/c/1"),), b"{}")


async def _timed(call: Awaitable[object]) -> tuple[float, BaseException | None]:
    began = time.monotonic()
    try:
        await call
    except Unavailable as error:
        return time.monotonic() - began, error
    return time.monotonic() - began, None


def _left_alone(error: BaseException | None) -> bool:
    """Whether `error` is the paused cache's own refusal, made without asking Redis."""
    return isinstance(error, Unavailable) and "left alone" in str(error)


def test_a_frozen_cache_is_waited_for_once_then_left_alone(private_redis: PrivateRedis) -> None:
    """Frozen: one wait of TIMEOUT, then failures at once for PAUSE, then one wait again."""

    async def scenario() -> None:
        cache = replay_cache(private_redis.url)
        now = time.time()
        copy = Completion("p", "k", "f" * 64, ANSWER, now, now + 60)
        assert await cache.record(copy)
        private_redis.freeze()
        try:
            took, error = await _timed(cache.get("p", "k", now=now))
            assert isinstance(error, Unavailable)
            assert TIMEOUT * 0.8 < took < TIMEOUT + 1.0
            assert not _left_alone(error)  # asked, and waited for
            for _ in range(5):
                _, error = await _timed(cache.get("p", "k", now=now))
                assert isinstance(error, Unavailable)
                assert _left_alone(error)  # failed at once, Redis not asked
            await asyncio.sleep(PAUSE)
            took, error = await _timed(cache.get("p", "k", now=now))
            assert isinstance(error, Unavailable)
            assert took > TIMEOUT * 0.8  # asked again
            assert not _left_alone(error)
        finally:
            private_redis.thaw()
        await asyncio.sleep(PAUSE)
        found = await cache.get("p", "k", now=now)
        assert found is not None
        assert found.state is State.COMPLETED
        assert found.response == ANSWER
        await cache.close()

    asyncio.run(scenario())
