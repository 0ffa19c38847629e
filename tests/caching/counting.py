"""Clients counting through a cache: each reads n and writes n + 1 with If-Match, for a while.

A pure counter (no writer in the body): the invariant is that the final
count equals the number of writes answered 2xx, and a client that wrote n
never reads less than n after (a cache that kept a read past a write
through it breaks the second, and starves the writers with 412s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

CLIENTS = 3
SECONDS = 1.0


def note(count: int) -> dict[str, Any]:
    return {"title": "counter", "count": count, "writer": "anyone"}


@dataclass
class Tally:
    """What the clients saw: writes made per client, reads older than the reader's own write."""

    successes: list[int]
    stale_reads: list[str] = field(default_factory=list)
    refused: int = 0
    final: int | None = None

    @property
    def writes(self) -> int:
        return sum(self.successes)


def count_through(
    client: Callable[[], httpx.Client],
    path: str,
    *,
    clients: int = CLIENTS,
    seconds: float = SECONDS,
) -> Tally:
    """`clients` threads counting on `path` for `seconds`; the tally, the final count read last."""
    tally = Tally([0] * clients)
    failures: list[BaseException] = []
    deadline = time.monotonic() + seconds

    def count(index: int) -> None:
        wrote = -1
        try:
            with client() as http:
                while time.monotonic() < deadline:
                    read = http.get(path)
                    assert read.status_code == 200, read.text
                    n = read.json()["count"]
                    if n < wrote:
                        tally.stale_reads.append(f"read {n} after writing {wrote}")
                    answer = http.put(
                        path, json=note(n + 1), headers={"If-Match": read.headers["etag"]}
                    )
                    if answer.is_success:
                        tally.successes[index] += 1
                        wrote = n + 1
                    else:
                        assert answer.status_code == 412, answer.text
                        tally.refused += 1
        except BaseException as error:  # the test's thread: reported by the test
            failures.append(error)

    threads = [threading.Thread(target=count, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    with client() as http:
        tally.final = http.get(path).json()["count"]
    return tally


@dataclass
class WriterTally:
    """One writer and some readers through a cache: writes made, 412s, reads older than known."""

    writes: int = 0
    refused: int = 0
    reads: int = 0
    stale_reads: list[str] = field(default_factory=list)


def one_writer_through(
    client: Callable[[], httpx.Client],
    path: str,
    *,
    readers: int = 2,
    seconds: float = SECONDS,
) -> WriterTally:
    """One writer counting on `path` (read n, PUT n + 1 with If-Match) and `readers` reading.

    With one writer, nothing but a stale read can make its write a 412. A
    read is stale when it is older than the last write answered 2xx before
    the read was sent.
    """
    tally = WriterTally()
    lock = threading.Lock()
    written = [0]  # the count of the last write answered 2xx
    failures: list[BaseException] = []
    deadline = time.monotonic() + seconds

    def read(http: httpx.Client) -> tuple[int, str]:
        floor = written[0]
        answer = http.get(path)
        assert answer.status_code == 200, answer.text
        n = answer.json()["count"]
        with lock:
            tally.reads += 1
            if n < floor:
                tally.stale_reads.append(f"read {n} after {floor} was written")
        return n, answer.headers["etag"]

    def write() -> None:
        try:
            with client() as http:
                while time.monotonic() < deadline:
                    n, etag = read(http)
                    answer = http.put(path, json=note(n + 1), headers={"If-Match": etag})
                    if answer.is_success:
                        tally.writes += 1
                        written[0] = n + 1
                    else:
                        assert answer.status_code == 412, answer.text
                        tally.refused += 1
        except BaseException as error:  # the test's thread: reported by the test
            failures.append(error)

    def watch() -> None:
        try:
            with client() as http:
                while time.monotonic() < deadline:
                    read(http)
        except BaseException as error:  # the test's thread: reported by the test
            failures.append(error)

    threads = [threading.Thread(target=write)]
    threads += [threading.Thread(target=watch) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return tally
