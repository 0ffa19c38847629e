"""`_outage` reads Redis refusing a command for a state it is in: refused, or lost if some ran.

Each error is redis-py's (sync and asyncio) against a private redis-server
put for real in the state (tests/redis_states.py): out of memory,
a read-only replica, a replica cut off from its primary, busy with a
script, failing to save, without the replicas it needs, or turned into
a replica under a blocked command. Redis refuses such a command before
running it: a 503 whatever the method. A non-transactional pipeline whose
other commands ran, or a command retried after an attempt whose
connection broke, may have written: lost, a 504 for a write. The app's
own mistakes (a wrong type, a script it never loaded, a key in use, a
missing permission or password) stay its 500s.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from httpconflict import Unavailable, WriteOutcomeUnknown
from httpconflict.outage import OutageKind, outage, outage_error
from tests.adapters.redis_apps import take_and_record
from tests.private_redis import PrivateRedis
from tests.redis_states import (
    busy,
    master_down,
    no_replicas,
    out_of_memory,
    persistence_failed,
    protected,
    read_only,
)
from tests.test_outage_redis import no_retry, raised

redis = pytest.importorskip("redis")
redis_asyncio = pytest.importorskip("redis.asyncio")
from redis.backoff import ConstantBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

REFUSED = (OutageKind.REFUSED, "redis")
LOST = (OutageKind.LOST, "redis")


def kind_of(error: BaseException) -> tuple[OutageKind, str] | None:
    """The outage's kind and dialect; a refusal also says why, naming Redis."""
    found = outage(error)
    if found is None:
        return None
    if found.reason is not None:
        assert "Redis" in found.reason, found
    return found.kind, found.dialect


State = Callable[[PrivateRedis], AbstractContextManager[Any]]

#: Each state, the command it refuses (a replica cut off from its primary refuses a
#: write as READONLY first), and how Redis words the refusal (after redis-py took the
#: code off the words of the replies it has a class for).
STATES = [
    pytest.param(out_of_memory, "incr", "command not allowed when used memory", id="OOM"),
    pytest.param(read_only, "incr", "You can't write against a read only replica.", id="READONLY"),
    pytest.param(master_down, "get", "Link with MASTER is down", id="MASTERDOWN"),
    pytest.param(busy, "incr", "BUSY Redis is busy running a script.", id="BUSY"),
    pytest.param(persistence_failed, "incr", "MISCONF Redis is configured to save", id="MISCONF"),
    pytest.param(no_replicas, "incr", "NOREPLICAS Not enough good replicas", id="NOREPLICAS"),
]


@pytest.fixture
def server(private_redis: PrivateRedis) -> PrivateRedis:
    """The private Redis, started so that its directory may be moved (`persistence_failed`)."""
    return protected(private_redis)


def patient(*, sync: bool = True) -> dict[str, Any]:
    """A client's options: no retry, and time enough on a loaded machine (a refusal is at once)."""
    return {**no_retry(sync=sync), "socket_timeout": 10}


def sync_client(server: PrivateRedis) -> Any:
    return redis.Redis.from_url(server.url, **patient())


def async_raised(server: PrivateRedis, command: Callable[[Any], Any]) -> BaseException:
    """The error of `command` on a redis.asyncio client of `server`'s."""

    async def run() -> object:
        async with redis_asyncio.Redis.from_url(server.url, **patient(sync=False)) as client:
            return await command(client)

    return raised(lambda: asyncio.run(run()))


def assert_refused(error: BaseException, words: str) -> None:
    """Redis's refusal (`words`): refused, a 503 even for a write."""
    assert words in str(error), error
    assert kind_of(error) == REFUSED, error
    answer = outage_error(error, "POST")
    assert type(answer) is Unavailable
    assert "Redis" in str(answer.problem.detail), answer.problem  # says why


def assert_lost(error: BaseException) -> None:
    """Part of what was sent ran: a 503 for a read, a 504 for a write."""
    assert kind_of(error) == LOST, error
    assert type(outage_error(error, "POST")) is WriteOutcomeUnknown
    assert type(outage_error(error, "GET")) is Unavailable


@pytest.mark.parametrize(("state", "command", "words"), STATES)
def test_a_command_refused_for_the_servers_state_is_refused(
    server: PrivateRedis, state: State, command: str, words: str
) -> None:
    """OOM, READONLY, MASTERDOWN, BUSY, MISCONF, NOREPLICAS: none ran, a 503, sync and asyncio."""
    client = sync_client(server)
    with state(server):
        assert_refused(raised(lambda: getattr(client, command)("n")), words)
        assert_refused(async_raised(server, lambda client: getattr(client, command)("n")), words)
    assert client.get("n") is None


def test_reads_refused_or_answered(server: PrivateRedis) -> None:
    """BUSY refuses reads too: refused, a 503; out of memory or read-only, Redis answers them."""
    client = sync_client(server)
    with busy(server):
        error = raised(lambda: client.get("n"))
        assert kind_of(error) == REFUSED, error
        assert type(outage_error(error, "GET")) is Unavailable
    for state in (out_of_memory, read_only):
        with state(server):
            assert client.get("n") is None


def test_a_blocked_command_unblocked_by_a_failover_is_refused(server: PrivateRedis) -> None:
    """A BLMOVE waiting when its primary becomes a replica: UNBLOCKED, it never ran: refused."""

    def failover() -> None:
        with read_only(server):
            pass

    error = take_failed(server, sync_client(server), failover)
    assert_refused(error, "UNBLOCKED force unblock from blocking operation")


def take_failed(server: PrivateRedis, client: Any, cut: Callable[[], object]) -> BaseException:
    """The error of `client`'s BLMOVE (waiting for a job) when `cut` is done while it waits."""
    errors: list[BaseException] = []
    taker = threading.Thread(
        target=lambda: errors.append(raised(lambda: client.blmove("jobs", "taken", 5)))
    )
    taker.start()
    try:
        wait_for_command(server, "blmove")
        cut()
    finally:
        taker.join()
    return errors[0]


def wait_for_command(server: PrivateRedis, command: str) -> None:
    """Until a client of `server`'s is running `command` (blocked in it)."""
    deadline = time.monotonic() + 10
    while True:
        with server.admin() as admin:
            if any(client.get("cmd") == command for client in admin.client_list()):
                return
        assert time.monotonic() < deadline, f"no client ever ran {command}"
        time.sleep(0.02)


def test_a_pipeline_refused_after_a_command_ran_is_lost(server: PrivateRedis) -> None:
    """Out of memory, a pipeline's LPOP runs and its SET is refused: the job is taken: lost.

    Redis runs each command of a non-transactional pipeline on its own;
    redis-py raises the first error (``Command # 2 (SET ...) of pipeline
    caused error: ...``) after every reply was read.
    """
    client = sync_client(server)
    client.rpush("jobs", "a", "b", "c")
    with out_of_memory(server):
        error = raised(lambda: take_and_record(client, transaction=False))
        assert str(error).startswith("Command # 2 (SET last taken) of pipeline"), error
        assert client.llen("jobs") == 2  # the LPOP ran
        assert_lost(error)
        assert_lost(async_raised(server, lambda client: take_and_record(client, transaction=False)))
        assert client.llen("jobs") == 1


def test_a_pipeline_refused_whole_is_refused(server: PrivateRedis) -> None:
    """On a read-only replica, every command of a pipeline of writes is refused: nothing ran."""
    client = sync_client(server)

    def pipeline(client: Any) -> Any:
        pipe = client.pipeline(transaction=False)
        pipe.incr("a")
        pipe.incr("b")
        return pipe.execute()

    with read_only(server):
        assert_refused(raised(lambda: pipeline(client)), "read only replica")


def test_a_transaction_refused_runs_nothing(server: PrivateRedis) -> None:
    """MULTI/EXEC: a command refused as it is queued discards the transaction: refused.

    Redis answers EXEC with EXECABORT, and redis-py raises the queued
    command's refusal (``Command # 1 ... of pipeline caused error``); a
    refusal of EXEC itself (memory full since the commands were queued) is
    ``EXECABORT Transaction discarded because of: OOM ...``.
    """
    client = sync_client(server)
    client.rpush("jobs", "a", "b")
    with out_of_memory(server):
        error = raised(lambda: take_and_record(client, transaction=True))
        assert str(error).startswith("Command # 1 (LPOP jobs) of pipeline"), error
        assert_refused(error, "command not allowed when used memory")
        error = async_raised(server, lambda client: take_and_record(client, transaction=True))
        assert_refused(error, "used memory")
        assert client.llen("jobs") == 2
    with read_only(server):
        assert_refused(raised(lambda: take_and_record(client, transaction=True)), "read only")
    assert client.llen("jobs") == 0  # the replica took its primary's (empty) data

    connection = client.connection_pool.get_connection()
    try:
        connection.send_command("MULTI")
        connection.read_response()
        connection.send_command("SET", "last", "taken")
        assert connection.read_response() == b"QUEUED"
        with out_of_memory(server):
            connection.send_command("EXEC")
            error = raised(connection.read_response)
    finally:
        client.connection_pool.release(connection)
    assert type(error) is redis.exceptions.ExecAbortError
    assert_refused(error, "Transaction discarded because of: OOM")
    assert client.get("last") is None


def test_scripts_are_refused_before_their_first_write(server: PrivateRedis) -> None:
    """A script's refusal comes before it wrote (Redis checks a script's first write only).

    EVAL and FCALL refused (``... script: <sha>, on @user_script:1.``, or
    ``OOM allow-oom flag is not set on the script``): refused. A script
    that wrote is let finish, even out of memory: no refusal comes after
    a script's write, so none can hide a half-run script.
    """
    client = sync_client(server)
    client.rpush("jobs", "a", "b")
    client.function_load(
        "#!lua name=jobs\n"
        "redis.register_function('count', function(keys) return redis.call('INCR', keys[1]) end)"
    )
    read_then_write = "redis.call('GET', KEYS[1]); return redis.call('INCR', KEYS[1])"
    with out_of_memory(server):
        error = raised(lambda: client.eval(read_then_write, 1, "n"))
        assert "script: " in str(error)
        assert_refused(error, "command not allowed when used memory")
        assert_refused(raised(lambda: client.fcall("count", 1, "n")), "used memory")
        pop_then_write = "redis.call('LPOP', KEYS[1]); return redis.call('INCR', KEYS[2])"
        assert client.eval(pop_then_write, 2, "jobs", "n") == 1
    with read_only(server):
        assert_refused(
            raised(lambda: client.eval(read_then_write, 1, "n")), "read only replica. script: "
        )


def test_a_refusal_after_an_attempt_that_broke_is_lost(server: PrivateRedis) -> None:
    """redis-py retried a BLMOVE whose connection was killed; the retry was refused: lost.

    The first attempt may have moved a job before its connection broke;
    the refusal (out of memory by then) says nothing of it.
    """
    client = redis.Redis.from_url(server.url, retry=Retry(ConstantBackoff(0.2), 1))
    client.ping()
    failed = threading.Event()

    def kill_then_fill() -> None:
        with out_of_memory(server):
            server.kill_clients()
            failed.wait(10)  # until the retry was refused

    killer = threading.Thread(target=kill_then_fill)
    error = take_failed(server, client, killer.start)
    failed.set()
    killer.join()
    assert isinstance(error, redis.exceptions.OutOfMemoryError)
    assert_lost(error)


def test_the_apps_own_replies_are_no_outage(server: PrivateRedis) -> None:
    """WRONGTYPE, BUSYKEY, BUSYGROUP, NOSCRIPT, NOPERM, NOAUTH, a bad transaction: the app's."""
    client = sync_client(server)
    client.set("string", "x")
    client.xadd("stream", {"a": "b"})
    client.xgroup_create("stream", "group")
    mistakes: list[Callable[[], object]] = [
        lambda: client.lpush("string", "y"),  # WRONGTYPE
        lambda: client.restore("string", 0, client.dump("string")),  # BUSYKEY
        lambda: client.xgroup_create("stream", "group"),  # BUSYGROUP
        lambda: client.evalsha("0" * 40, 0),  # NOSCRIPT
    ]
    pipe = client.pipeline(transaction=True)
    pipe.set("k", "v").execute_command("NO-SUCH-COMMAND")
    mistakes.append(pipe.execute)  # EXECABORT: the unknown command queued
    pipe = client.pipeline(transaction=False)
    pipe.set("k", "v").lpush("string", "y")
    mistakes.append(pipe.execute)
    client.acl_setuser("reader", enabled=True, passwords=["+secret"], keys=["*"], commands=["+get"])
    reader = redis.Redis(port=server.port, username="reader", password="secret", **no_retry())  # noqa: S106
    mistakes.append(lambda: reader.set("k", "v"))  # NOPERM
    for mistake in mistakes:
        error = raised(mistake)
        assert isinstance(error, redis.exceptions.ResponseError), error
        assert outage(error) is None, error
    client.config_set("requirepass", "secret")
    try:
        error = raised(lambda: redis.Redis(port=server.port, **no_retry()).get("k"))  # NOAUTH
        assert outage(error) is None, error
    finally:
        redis.Redis(port=server.port, password="secret").config_set("requirepass", "")  # noqa: S106
