"""`carried_out`: a call the caller's cancellation never stops, with a task only when it waits."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from httpconflict._carried_out import _UNDER_WAY, carried_out

pytestmark = pytest.mark.anyio

mark: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="none")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def counted_tasks() -> Iterator[list[int]]:
    """How many tasks the running loop made in the block: ``[n]`` once it ends."""
    loop = asyncio.get_running_loop()
    made = [0]
    before = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro, **kwargs):  # type: ignore[no-untyped-def]
        made[0] += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        yield made
    finally:
        loop.set_task_factory(before)


async def test_an_eager_call_that_never_waits_makes_no_task() -> None:
    async def at_once() -> int:
        return 7

    with counted_tasks() as made:
        assert await carried_out(at_once(), eager=True) == 7
        assert await carried_out(at_once()) == 7
    assert made == [1]  # the second, not eager


async def test_an_eager_call_cancelled_while_it_waits_goes_on_to_its_end() -> None:
    lock = asyncio.Lock()
    done: list[str] = []

    async def put_back() -> str:
        async with lock:  # waits while the lock is held: a task is made then
            done.append("back")
        return "back"

    await lock.acquire()
    caller = asyncio.ensure_future(carried_out(put_back(), eager=True))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert done == []
    lock.release()
    for _ in range(20):
        await asyncio.sleep(0)
    assert done == ["back"]
    assert not _UNDER_WAY


async def test_an_eager_call_that_waits_answers_what_it_returns_and_raises() -> None:
    async def later(value: int) -> int:
        await asyncio.sleep(0)  # waits on nothing: the loop's next turn
        await asyncio.sleep(0.001)  # waits on a future
        if value < 0:
            raise ValueError("negative")
        return value * 2

    assert await carried_out(later(21), eager=True) == 42
    with pytest.raises(ValueError, match="negative"):
        await carried_out(later(-1), eager=True)

    async def fails_at_once() -> None:
        raise KeyError("first step")

    with pytest.raises(KeyError, match="first step"):
        await carried_out(fails_at_once(), eager=True)


async def test_an_eager_call_sees_the_callers_context_and_keeps_its_own() -> None:
    seen: list[str] = []

    async def call(waits: bool) -> None:
        seen.append(mark.get())
        mark.set("call's")
        if waits:
            await asyncio.sleep(0.001)
        seen.append(mark.get())

    mark.set("caller's")
    for waits in (False, True):
        await carried_out(call(waits), eager=True)
        assert mark.get() == "caller's"
    assert seen == ["caller's", "call's"] * 2


async def test_a_task_going_on_with_a_call_hands_its_cancellation_to_the_call() -> None:
    """At a loop's shutdown every task is cancelled: the call's own cleanup runs."""
    cleaned: list[str] = []
    started = asyncio.Event()

    async def call() -> None:
        try:
            started.set()
            await asyncio.sleep(60)
        finally:
            cleaned.append("cleaned")

    caller = asyncio.ensure_future(carried_out(call(), eager=True))
    await started.wait()
    (going_on,) = _UNDER_WAY
    going_on.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert cleaned == ["cleaned"]
