"""Calls started at the same moment, in threads: a double click, racing writers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def at_once(call: Callable[[], _T], times: int = 2) -> list[_T]:
    """`call()` run `times` times at once (a barrier lets them go together); their results."""
    results: list[_T] = []
    start = threading.Barrier(times)

    def run() -> None:
        start.wait()
        results.append(call())

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
