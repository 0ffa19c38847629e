"""Opening: a store opens once per process, whoever asks first, and again after a failure."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from httpconflict.storage._opening import Opening


class Door:
    """An `open` that counts its calls, takes a while, and fails while told to."""

    def __init__(self, failures: int = 0) -> None:
        self.opened = 0
        self.failures = failures
        self.forgotten = 0

    async def open(self) -> None:
        await asyncio.sleep(0.05)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("not yet")
        self.opened += 1

    def forget(self) -> str:
        self.forgotten += 1
        return "the parent's connections"


def test_concurrent_first_calls_open_once() -> None:
    """Twenty tasks asking at once share one opening."""
    door = Door()
    opening = Opening(door.open, forget=door.forget)

    async def main() -> None:
        await asyncio.gather(*(opening.ensure() for _ in range(20)))
        await opening.ensure()

    asyncio.run(main())
    assert door.opened == 1
    assert opening.is_open


def test_threads_with_loops_of_their_own_open_once() -> None:
    """Eight threads, each on its own event loop, asking at once: one opening."""
    door = Door()
    opening = Opening(door.open, forget=door.forget)
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        asyncio.run(opening.ensure())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert door.opened == 1


def test_a_failed_opening_is_tried_again_by_the_next_call() -> None:
    """Every waiter gets the failure; the next call opens (a database back up is used)."""
    door = Door(failures=1)
    opening = Opening(door.open, forget=door.forget)

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(*(opening.ensure() for _ in range(3)), return_exceptions=True)

    assert all(isinstance(result, ConnectionError) for result in asyncio.run(main()))
    assert not opening.is_open
    asyncio.run(opening.ensure())
    assert (door.opened, opening.is_open) == (1, True)


def test_a_cancelled_caller_does_not_cancel_the_opening() -> None:
    """The first caller's client went away: the others still get the store opened."""
    door = Door()
    opening = Opening(door.open, forget=door.forget)

    async def main() -> None:
        first = asyncio.create_task(opening.ensure())
        second = asyncio.create_task(opening.ensure())
        await asyncio.sleep(0.01)
        first.cancel()
        await second
        with pytest.raises(asyncio.CancelledError):
            await first

    asyncio.run(main())
    assert door.opened == 1


def test_closed_opens_again_on_the_next_call() -> None:
    """After close, the store's next use opens it anew."""
    door = Door()
    opening = Opening(door.open, forget=door.forget)
    asyncio.run(opening.ensure())
    opening.closed()
    asyncio.run(opening.ensure())
    assert door.opened == 2


def test_a_forked_child_opens_its_own() -> None:
    """In a child forked after the opening, the store is closed and the parent's is forgotten."""
    door = Door()
    opening = Opening(door.open, forget=door.forget)
    asyncio.run(opening.ensure())
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, run nothing else
        fresh = not opening.is_open and door.forgotten == 1
        asyncio.run(opening.ensure())
        os._exit(0 if fresh and door.opened == 2 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (opening.is_open, door.opened, door.forgotten) == (True, 1, 0)
