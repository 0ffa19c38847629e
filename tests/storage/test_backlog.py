"""The backlog of store writes owed after an answer: retried until done, bounded in time."""

from __future__ import annotations

import asyncio
import logging

import pytest

from httpconflict import Unavailable
from httpconflict.storage.idempotency import backlog as backlog_module
from httpconflict.storage.idempotency.backlog import Backlog

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Store:
    """A stand-in for a store that is down for its first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def write(self) -> bool:
        self.calls += 1
        if self.calls <= self.failures:
            raise Unavailable("down")
        return True


async def test_a_write_is_retried_until_the_store_answers() -> None:
    """Unavailable, again and again: the write is made once the store is back."""
    store = Store(failures=3)
    backlog = Backlog()
    backlog.add(store.write, within=10, what="write")
    assert await backlog.drain(5) == 0
    assert store.calls == 4


async def test_waits_grow_while_the_store_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the store fails, attempts are spaced out (doubling up to MAX_WAIT), not hammered."""
    monkeypatch.setattr(backlog_module, "MAX_WAIT", 0.2)
    store = Store(failures=1000)
    backlog = Backlog()
    backlog.add(store.write, within=1, what="write")
    await backlog.drain(2)
    # 0.05 + 0.1 + 0.2 + 0.2 + 0.2 + ...: about seven attempts in a second.
    assert 4 <= store.calls <= 9


async def test_a_write_past_its_time_is_given_up(caplog: pytest.LogCaptureFixture) -> None:
    """After `within` seconds the write is dropped, and the log says so."""
    store = Store(failures=1000)
    backlog = Backlog()
    with caplog.at_level(logging.WARNING, "httpconflict.idempotency"):
        backlog.add(store.write, within=0.3, what="record the answer of key 'k'")
        assert await backlog.drain(2) == 0
    assert "gave up after" in caplog.text
    assert "record the answer of key 'k'" in caplog.text


async def test_a_write_may_ask_to_look_again() -> None:
    """An attempt returning False is made again `again_after` seconds later."""
    answers = iter([False, False, True])
    calls = 0

    async def attempt() -> bool:
        nonlocal calls
        calls += 1
        return next(answers)

    backlog = Backlog()
    loop = asyncio.get_running_loop()
    started = loop.time()
    backlog.add(attempt, within=5, what="look twice", again_after=0.1)
    assert await backlog.drain(2) == 0
    assert calls == 3
    assert loop.time() - started >= 0.2


async def test_once_the_store_answers_every_write_follows() -> None:
    """Fifty writes owed to a store down for a moment: all made, soon after it is back."""
    store = Store(failures=2)
    done: list[int] = []
    backlog = Backlog()
    for n in range(50):

        async def write(n: int = n) -> bool:
            await store.write()
            done.append(n)
            return True

        backlog.add(write, within=10, what=f"write {n}")
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await backlog.drain(5) == 0
    assert sorted(done) == list(range(50))
    assert store.calls == 52
    assert loop.time() - started < 0.5  # two waits, 0.05 and 0.1 s; no wait per write


async def test_cancel_drops_what_is_left(caplog: pytest.LogCaptureFixture) -> None:
    """Closing the store cancels the backlog; each dropped write is logged."""
    store = Store(failures=1000)
    backlog = Backlog()
    backlog.add(store.write, within=10, what="owed write")
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, "httpconflict.idempotency"):
        backlog.cancel()
    assert len(backlog) == 0
    assert "owed write" in caplog.text
