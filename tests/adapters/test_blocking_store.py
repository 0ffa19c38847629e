"""BlockingIdempotencyStore: every async store, called from many threads, on one loop."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpconflict import Unavailable
from httpconflict._idempotency import State, StoredResponse
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.storage.idempotency.blocking import BlockingIdempotencyStore

ANSWER = StoredResponse(201, (("location", "/orders/1"),), b'{"id": 1}')
FP = "f" * 64


def url_of(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return str(tmp_path / "keys.db")
    fixture = {"postgres": "postgres_schema", "redis": "redis_server"}.get(kind)
    return "memory" if fixture is None else str(request.getfixturevalue(fixture))


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlockingIdempotencyStore]:
    blocking = BlockingIdempotencyStore(idempotency_store(url_of(request.param, request, tmp_path)))
    try:
        yield blocking
    finally:
        blocking.close()


def principal() -> str:
    """A caller of this test only: keys in a shared Redis never collide across runs."""
    return f"test-{uuid.uuid4().hex}"


def test_one_winner_among_twenty_threads(store: BlockingIdempotencyStore) -> None:
    """20 threads claim one key at once: exactly one holds it, the rest see it in flight."""
    who = principal()
    start = threading.Barrier(20)

    def claim(_: int) -> bool:
        start.wait()
        return store.claim(who, "k", FP, uuid.uuid4().hex, now=time.time(), lease=30) is None

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        assert sum(pool.map(claim, range(20))) == 1
    live = store.get(who, "k", now=time.time())
    assert live is not None
    assert live.state is State.IN_FLIGHT


def test_complete_in_one_thread_replays_in_another(store: BlockingIdempotencyStore) -> None:
    """What one request thread records, another reads back intact."""
    who, mine = principal(), uuid.uuid4().hex
    assert store.claim(who, "k", FP, mine, now=time.time(), lease=30) is None
    with concurrent.futures.ThreadPoolExecutor() as pool:
        done = pool.submit(store.complete, who, "k", mine, ANSWER, now=time.time(), retention=60)
        assert done.result()
        live = pool.submit(store.get, who, "k", now=time.time()).result()
    assert live is not None
    assert live.response == ANSWER


def test_release_lets_a_retry_claim(store: BlockingIdempotencyStore) -> None:
    """Only the owner releases; then the key is free again."""
    who, mine = principal(), uuid.uuid4().hex
    store.claim(who, "k", FP, mine, now=time.time(), lease=30)
    assert not store.release(who, "k", uuid.uuid4().hex)
    assert store.release(who, "k", mine)
    assert store.claim(who, "k", FP, uuid.uuid4().hex, now=time.time(), lease=30) is None


def test_close_stops_the_loop_thread_for_good(store: BlockingIdempotencyStore) -> None:
    """The loop thread starts on the first call and ends with close(); later calls fail."""

    def loop_threads() -> int:
        names = (t.name for t in threading.enumerate())
        return sum(name == "httpconflict-idempotency-store" for name in names)

    before = loop_threads()
    who = principal()
    store.claim(who, "k", FP, uuid.uuid4().hex, now=time.time(), lease=30)
    assert loop_threads() == before + 1
    store.close()
    assert loop_threads() == before
    with pytest.raises(RuntimeError, match="closed"):
        store.get(who, "k", now=time.time())
    store.close()  # twice is fine


def test_a_store_that_does_not_answer_in_time_is_unavailable(
    postgres_schema: str,
) -> None:
    """A claim stuck behind a row lock is given up after `timeout`: 503, and the store goes on."""
    import psycopg

    blocking = BlockingIdempotencyStore(idempotency_store(postgres_schema), timeout=0.5)
    who = principal()
    try:
        blocking.claim(who, "k", FP, uuid.uuid4().hex, now=time.time(), lease=30)
        with psycopg.connect(postgres_schema) as locker:
            locker.execute("SELECT 1 FROM idempotency_keys WHERE principal = %s FOR UPDATE", (who,))
            started = time.monotonic()
            with pytest.raises(Unavailable):
                blocking.claim(who, "k", FP, uuid.uuid4().hex, now=time.time() + 60, lease=30)
            assert time.monotonic() - started < 5
        # The lock is gone: the next call is answered.
        assert blocking.get(who, "k", now=time.time()) is not None
    finally:
        blocking.close()


SCRIPT = """
import sys, time, uuid
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.storage.idempotency.blocking import BlockingIdempotencyStore

store = BlockingIdempotencyStore(idempotency_store(sys.argv[1]))
who = uuid.uuid4().hex
assert store.claim(who, "k", "f" * 64, "t" * 32, now=time.time(), lease=5) is None
{tail}
"""


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_an_unclosed_store_is_closed_at_exit(redis_server: str) -> None:
    """A process that never calls close() still exits at once, cleanly, with nothing printed."""
    done = run(SCRIPT.format(tail="print('done')"), f"{redis_server}")
    assert (done.returncode, done.stdout, done.stderr) == (0, "done\n", "")


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "redis"])
def test_a_store_used_before_fork_works_in_the_child_on_its_own_connections(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The child opens its own loop and connections; the parent's still work after it exits."""
    tail = """
import os
pid = os.fork()
if pid == 0:
    seen = store.get(who, "k", now=time.time())
    store.close()
    os._exit(0 if seen is not None else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), store.get(who, "k", now=time.time()) is not None)
"""
    script = SCRIPT.format(tail=tail)
    done = subprocess.run(
        [sys.executable, "-c", script, url_of(kind, request, tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.stdout == "0 True\n", done.stderr
