"""The Redis idempotency store while Redis kills its connections: Unavailable, never a stray error.

Redis ends client connections (CLIENT KILL, a restart, a proxy's idle
timeout) while commands are on their way. When one ends just before a
command is written on it, uvloop (the service's event loop) raises a
RuntimeError ("the handler is closed") that redis-py lets through as it
is, not as a redis ConnectionError (asyncio on Python 3.12 and later lets
a TypeError or AttributeError through the same way: redis-py issue 4287).
Through the service that was a 500 where a 503 is due, or, for the
replay cache, carrying on without it. Here 16 tasks read keys while
another thread kills every connection each 5 ms for 2 s: every failure
must be Unavailable, and once the kills stop the store answers again.
Before the fix, about 70 RuntimeErrors came through in 3 s under uvloop.
The store retries a command once on a new connection, so most kills pass
unseen (often no Unavailable at all): that commands met killed
connections shows in how often they connected again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest

from httpconflict import Unavailable
from httpconflict.storage.idempotency.redis import RedisIdempotencyStore
from tests.private_redis import PrivateRedis
from tests.storage.test_redis_store import store  # on a private Redis, opened

__all__ = ["store"]

pytestmark = pytest.mark.anyio

TASKS = 16
KILLING = 2.0


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
        pytest.param(("asyncio", {}), id="asyncio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    backend: tuple[str, dict[str, Any]] = request.param
    return backend


async def test_killed_connections_are_unavailable_never_another_error(
    store: RedisIdempotencyStore, private_redis: PrivateRedis
) -> None:
    """Reads during CLIENT KILLs: each done, or Unavailable; the store answers after."""
    outcomes: Counter[str] = Counter()
    ending = time.monotonic() + KILLING
    admin: Any = private_redis.admin()  # one connection for every kill: it spares itself
    received_before = _connections_received(admin)

    def kill() -> None:
        while time.monotonic() < ending:
            admin.execute_command("CLIENT", "KILL", "TYPE", "normal")
            time.sleep(0.005)

    async def read() -> None:
        while time.monotonic() < ending:
            try:
                await store.get("p", "k", now=time.time())
                outcomes["done"] += 1
            except Unavailable:
                outcomes["unavailable"] += 1
            except Exception as error:  # what must not be: counted by kind, to be shown
                outcomes[f"{type(error).__name__}: {str(error)[:80]}"] += 1

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        await asyncio.gather(*(read() for _ in range(TASKS)))
    finally:
        killer.join()
    # The store's one retry on a new connection hides most kills: what
    # shows that commands met killed connections is that they had to
    # connect again, many more times than the readers' first connections.
    reconnected = _connections_received(admin) - received_before - TASKS
    admin.close()
    print(dict(outcomes), reconnected)
    assert set(outcomes) <= {"done", "unavailable"}, dict(outcomes)
    assert reconnected > TASKS, "no command met a killed connection: the test tested nothing"
    assert await store.get("p", "after", now=time.time()) is None


def _connections_received(admin: Any) -> int:
    """The connections the server has accepted since it started."""
    return int(admin.info("stats")["total_connections_received"])
