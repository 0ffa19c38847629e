"""`_outage` reads redis-py's errors: Redis failing a request is a 503/504, the app's bugs not.

Each error is raised by redis-py (sync and asyncio) against a private
redis-server that the test stops, freezes, restarts with a slow load or
cuts its clients off, or against a port no server listens on; the app's own
mistakes (a wrong type, an unknown command, a wrong password, a database
the server does not have) against the same server.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from httpconflict import Unavailable, WriteOutcomeUnknown
from httpconflict.outage import Outage, OutageKind, outage, outage_error
from tests.private_redis import PrivateRedis
from tests.servers import free_port

redis = pytest.importorskip("redis")
redis_asyncio = pytest.importorskip("redis.asyncio")
from redis.asyncio.retry import Retry as AsyncRetry  # noqa: E402
from redis.backoff import ConstantBackoff, NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

REFUSED = Outage(OutageKind.REFUSED, "redis")
LOST = Outage(OutageKind.LOST, "redis")


def no_retry(retries: int = 0, *, sync: bool = True) -> dict[str, Any]:
    """A client's options: `retries` retries at once, reads timed out after 0.5 s."""
    retry = (Retry if sync else AsyncRetry)(NoBackoff(), retries)
    return {"retry": retry, "socket_timeout": 0.5}


def raised(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: PT011  # any error is the point
        action()
    return caught.value


def raised_async(action: Callable[[], Awaitable[object]]) -> BaseException:
    """The error `action` raises, run on a loop of its own."""

    async def run() -> None:
        await action()

    return raised(lambda: asyncio.run(run()))


def killed_while_blocked(server: PrivateRedis, command: Callable[[], object]) -> BaseException:
    """The error of `command` (a BLPOP) when its connection is killed while Redis runs it."""
    return while_blocked(server, command, server.kill_clients)


def stopped_while_blocked(server: PrivateRedis, command: Callable[[], object]) -> BaseException:
    """The error of `command` (a BLPOP) when Redis is stopped while it runs it."""
    return while_blocked(server, command, server.stop)


def while_blocked(
    server: PrivateRedis, command: Callable[[], object], cut: Callable[[], object]
) -> BaseException:
    """The error of `command` (a BLPOP) when `cut` is done while Redis runs it."""

    def kill() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with server.admin() as admin:
                if any(client.get("cmd") == "blpop" for client in admin.client_list()):
                    cut()
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        return raised(command)
    finally:
        killer.join()


def test_refused() -> None:
    """No server on the port, sync and asyncio: refused; a write there is a 503."""
    port = free_port()
    sync = raised(lambda: redis.Redis(port=port, **no_retry()).get("k"))
    assert outage(sync) == REFUSED
    assert type(outage_error(sync, "POST")) is Unavailable
    client = redis_asyncio.Redis(port=port, **no_retry(sync=False))
    assert outage(raised_async(lambda: client.get("k"))) == REFUSED


def test_refused_after_retries_may_have_run(private_redis: PrivateRedis) -> None:
    """redis-py's retry raises the last attempt's error only: an earlier one may have run it.

    Redis stopped under a BLPOP: the first attempt's connection closed with
    the command sent, the retry's reconnect is refused; that refusal is
    lost, a 504 for a write. Connects retried before any command are not.
    """
    retried = {"retry": Retry(ConstantBackoff(0.2), 1)}
    client = redis.Redis.from_url(private_redis.url, **retried)
    client.ping()
    error = stopped_while_blocked(private_redis, lambda: client.blpop(["q"], 5))
    assert str(error).startswith("Error 111 connecting to ")
    assert outage(error) == LOST
    assert type(outage_error(error, "POST")) is WriteOutcomeUnknown
    assert type(outage_error(error, "GET")) is Unavailable
    private_redis.start()

    async def blocked() -> object:
        options = {"retry": AsyncRetry(ConstantBackoff(0.2), 1)}
        async with redis_asyncio.Redis.from_url(private_redis.url, **options) as client:
            await client.ping()
            return await client.blpop(["q"], 5)

    error = stopped_while_blocked(private_redis, lambda: asyncio.run(blocked()))
    assert str(error).startswith("Error 111 connecting to ")
    assert outage(error) == LOST
    never_sent = raised(lambda: redis.Redis(port=free_port(), **no_retry(3)).incr("k"))
    assert outage(never_sent) == REFUSED
    client = redis_asyncio.Redis(port=free_port(), **no_retry(3, sync=False))
    assert outage(raised_async(lambda: client.incr("k"))) == REFUSED


def test_killed_under_a_command_is_lost(private_redis: PrivateRedis) -> None:
    """CLIENT KILL while Redis runs the command: lost, a 504 for a write, sync and asyncio."""
    client = redis.Redis.from_url(private_redis.url, **no_retry())
    error = killed_while_blocked(private_redis, lambda: client.blpop(["q"], 5))
    assert str(error) == "Connection closed by server."
    assert outage(error) == LOST
    assert type(outage_error(error, "POST")) is WriteOutcomeUnknown
    assert type(outage_error(error, "GET")) is Unavailable

    async def blocked() -> object:
        async with redis_asyncio.Redis.from_url(
            private_redis.url, **no_retry(sync=False)
        ) as client:
            return await client.blpop(["q"], 5)

    error = killed_while_blocked(private_redis, lambda: asyncio.run(blocked()))
    assert outage(error) == LOST


def test_frozen_server_times_out_lost(private_redis: PrivateRedis) -> None:
    """A frozen Redis (SIGSTOP): the read times out with the command sent; it may still run."""
    client = redis.Redis.from_url(private_redis.url, **no_retry())
    client.ping()
    private_redis.freeze()
    try:
        error = raised(lambda: client.set("k", "v"))
    finally:
        private_redis.thaw()
    assert type(error) is redis.exceptions.TimeoutError
    assert outage(error) == LOST


def test_stopped_then_refused(private_redis: PrivateRedis) -> None:
    """A stopped Redis under a connected client: the pool's dead connection, then refused."""
    client = redis.Redis.from_url(private_redis.url, **no_retry())
    client.ping()
    private_redis.stop()
    assert outage(raised(lambda: client.get("k"))) in (REFUSED, LOST)
    assert outage(raised(lambda: client.get("k"))) == REFUSED


def test_pool_exhausted_is_refused(private_redis: PrivateRedis) -> None:
    """No free connection in the pool (MaxConnectionsError; a blocking pool's wait): refused."""
    pool = redis.ConnectionPool.from_url(private_redis.url, max_connections=1)
    held = pool.get_connection()
    assert outage(raised(lambda: redis.Redis(connection_pool=pool).get("k"))) == REFUSED
    pool.release(held)
    blocking = redis.BlockingConnectionPool.from_url(
        private_redis.url, max_connections=1, timeout=0.05
    )
    held = blocking.get_connection()
    error = raised(lambda: redis.Redis(connection_pool=blocking).get("k"))
    assert str(error) == "No connection available."
    assert outage(error) == REFUSED
    blocking.release(held)


def test_max_clients_is_refused(private_redis: PrivateRedis) -> None:
    """Redis turning a new client away ("max number of clients reached"): refused."""
    with private_redis.admin() as admin:
        admin.config_set("maxclients", 1)
        try:
            error = raised(lambda: redis.Redis.from_url(private_redis.url, **no_retry()).ping())
        finally:
            admin.config_set("maxclients", 10000)
    assert str(error) == "max number of clients reached"
    assert outage(error) == REFUSED


def test_loading_is_refused(private_redis: PrivateRedis) -> None:
    """A restarted Redis still loading its data ("LOADING"): refused, nothing was run."""
    with private_redis.admin() as admin:
        pipe = admin.pipeline(transaction=False)
        for number in range(2000):
            pipe.set(f"key{number}", "x" * 100)
        pipe.execute()
        admin.save()
    private_redis.stop()
    # 1 ms a key: two seconds of loading, answering -LOADING every kilobyte meanwhile.
    private_redis.options = (
        "--key-load-delay",
        "1000",
        "--loading-process-events-interval-bytes",
        "1024",
    )
    starting = threading.Thread(target=private_redis.start)
    starting.start()
    client = redis.Redis.from_url(private_redis.url, socket_connect_timeout=1, **no_retry())
    error: BaseException | None = None
    deadline = time.monotonic() + 10
    while error is None and time.monotonic() < deadline:
        try:
            client.get("key1")
        except redis.exceptions.BusyLoadingError as loading:
            error = loading
        except redis.exceptions.ConnectionError:
            time.sleep(0.01)  # not listening yet
    starting.join()
    assert error is not None, "Redis answered before it was seen loading"
    assert outage(error) == REFUSED


def test_the_apps_own_errors_are_no_outage(private_redis: PrivateRedis) -> None:
    """A wrong type, an unknown command, a database out of range, a wrong password: the app's."""
    client = redis.Redis.from_url(private_redis.url, **no_retry())
    client.set("string", "x")
    assert outage(raised(lambda: client.lpush("string", "y"))) is None  # WRONGTYPE
    assert outage(raised(lambda: client.execute_command("NO-SUCH-COMMAND"))) is None
    assert outage(raised(lambda: redis.Redis(port=private_redis.port, db=99).get("k"))) is None
    password = "not-a-secret"  # noqa: S105  # of this test's own server
    with private_redis.admin() as admin:
        admin.config_set("requirepass", password)
    try:
        for given in (None, "wrong"):
            anonymous = redis.Redis(port=private_redis.port, password=given, **no_retry())
            error = raised(functools.partial(anonymous.get, "k"))
            assert isinstance(error, redis.exceptions.AuthenticationError)
            assert outage(error) is None
    finally:
        redis.Redis(port=private_redis.port, password=password).config_set("requirepass", "")


def test_uvloop_closed_transport(private_redis: PrivateRedis) -> None:
    """uvloop's "the handler is closed", raised under redis-py's write: lost; the app's: not.

    redis-py lets uvloop's RuntimeError through when it writes to a
    connection whose transport was closed under it (as a cancelled command
    of another task leaves it); the transport is closed by hand here.
    """
    uvloop = pytest.importorskip("uvloop")
    found: dict[str, BaseException] = {}

    async def write_on_closed() -> None:
        client = redis_asyncio.Redis.from_url(
            private_redis.url, single_connection_client=True, **no_retry(sync=False)
        )
        await client.ping()
        assert client.connection is not None
        client.connection._writer.transport.close()
        await asyncio.sleep(0)
        try:
            await client.set("k", "v")
        except RuntimeError as error:
            found["redis"] = error
        finally:
            await client.aclose()

    def the_apps_own() -> None:
        raise RuntimeError(str(found["redis"]))  # the same words

    uvloop.run(write_on_closed())
    found["app"] = raised(the_apps_own)
    assert "the handler is closed" in str(found["redis"])
    assert outage(found["redis"]) == LOST
    assert outage(found["app"]) is None


def test_tls_settings_are_no_outage(private_redis: PrivateRedis, tmp_path: Path) -> None:
    """A CA file that is not there, or TLS to a plain server: configuration; a socket file: not.

    redis-py words each as a connect's error (``Error 2 connecting to
    ...``); a Unix socket path with no server behind it is refused.
    """
    missing = str(tmp_path / "ca.pem")
    client = redis.Redis(port=private_redis.port, ssl=True, ssl_ca_certs=missing, **no_retry())
    error = raised(lambda: client.get("k"))
    assert str(error).startswith("Error 2 connecting to ")
    assert outage(error) is None
    sync_socket = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"), **no_retry())
    error = raised(lambda: sync_socket.get("k"))
    assert str(error).startswith("Error 2 connecting to ")
    assert outage(error) == REFUSED
    async_socket = redis_asyncio.Redis(
        unix_socket_path=str(tmp_path / "redis.sock"), **no_retry(sync=False)
    )
    assert outage(raised_async(lambda: async_socket.get("k"))) == REFUSED
    async_tls = redis_asyncio.Redis(
        port=private_redis.port, ssl=True, ssl_ca_certs=missing, **no_retry(sync=False)
    )
    assert outage(raised_async(lambda: async_tls.get("k"))) is None
