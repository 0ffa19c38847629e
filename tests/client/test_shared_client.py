"""One client shared by threads, or by asyncio tasks: each write's If-Match is its caller's read.

The plainest read-modify-write with the passthrough methods: GET n, then
PUT n + 1, the If-Match added from the client's ETag memory. Found by an
adversarial run: with one memory for every caller, a thread's PUT carried
the ETag that another thread had just read or written, so a write made
from a stale read passed If-Match and overwrote the other's (8 threads,
179 writes answered 200, n ended at 75). Pure counters: the invariant is
final n == writes answered 200.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import httpx

from httpconflict.httpx import AsyncConflictClient, ConflictClient
from tests.servers import ServiceProcess

CALLERS = 8
ROUNDS = 25
#: Seconds between a caller's read and its write (what it does with what it read).
THINKS = 0.002


def _document(service: ServiceProcess) -> str:
    url = f"{service.url}/v1/shared-{uuid.uuid4().hex[:8]}/n"
    created = httpx.put(url, json={"n": 0}, headers={"If-None-Match": "*"})
    assert created.status_code == 201, created.text
    return url


def _no_update_lost(url: str, statuses: list[int]) -> None:
    """Every write answered 200 counted once; every other one refused (412)."""
    final = httpx.get(url).json()["n"]
    assert set(statuses) <= {200, 412}, statuses
    assert final == statuses.count(200), f"final n {final}, {statuses.count(200)} PUTs got 200"
    assert final > 0


def test_threads_sharing_a_client_lose_no_update(service: ServiceProcess) -> None:
    """8 threads, one ConflictClient: final n == PUTs answered 200, the rest 412."""
    url = _document(service)
    statuses: list[int] = []
    lock = threading.Lock()
    with httpx.Client(timeout=10) as http:
        client = ConflictClient(http)

        def caller() -> None:
            for _ in range(ROUNDS):
                n = client.get(url).json()["n"]
                time.sleep(THINKS)
                status = client.put(url, json={"n": n + 1}).status_code
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    _no_update_lost(url, statuses)


def test_tasks_sharing_a_client_lose_no_update(service: ServiceProcess) -> None:
    """8 asyncio tasks, one AsyncConflictClient: final n == PUTs answered 200, the rest 412."""
    url = _document(service)
    statuses: list[int] = []

    async def run() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(http)

            async def caller() -> None:
                for _ in range(ROUNDS):
                    n = (await client.get(url)).json()["n"]
                    await asyncio.sleep(THINKS)
                    statuses.append((await client.put(url, json={"n": n + 1})).status_code)

            await asyncio.gather(*(caller() for _ in range(CALLERS)))

    asyncio.run(run())
    _no_update_lost(url, statuses)


def test_a_caller_that_read_nothing_adds_no_if_match(service: ServiceProcess) -> None:
    """Another thread's read is not this thread's: its PUT goes without If-Match (428 here)."""
    url = _document(service)
    with httpx.Client(timeout=10) as http:
        client = ConflictClient(http)
        assert client.get(url).status_code == 200
        answers: list[httpx.Response] = []
        other = threading.Thread(target=lambda: answers.append(client.put(url, json={"n": 9})))
        other.start()
        other.join(30)
        assert "if-match" not in answers[0].request.headers
        assert answers[0].status_code == 428
        # This thread's own read still gives its own write If-Match.
        mine = client.put(url, json={"n": 1})
        assert "if-match" in mine.request.headers
        assert mine.status_code == 200, mine.text
    assert httpx.get(url).json()["n"] == 1
