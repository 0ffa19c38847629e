"""`watch` against a real service: every change once, in order, through restarts and cuts.

The truth is the feed's own JSON form read afterwards (``?since=0``): what
a watcher yielded must be exactly its results, seq for seq, however often
its stream was cut off or its server restarted meanwhile. Writes are pure
counter increments made with `update`, so each is one change.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    Change,
    ChangesExpired,
    ConflictClient,
    RequestRefused,
)
from tests.client.test_restart import DOWN_FOR, log_dir
from tests.relay import Relay, relay
from tests.servers import ServiceProcess, free_port, start_service
from tests.service.auth_helpers import bearer, create_token

COUNTERS = "/v1/counters"


def increment(doc: dict[str, Any]) -> None:
    doc["n"] += 1


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One plain service for the tests that neither stop nor configure theirs."""
    directory = tmp_path_factory.mktemp("shared")
    with start_service(str(directory / "service.db"), directory) as running:
        yield running


@pytest.fixture
def counters() -> str:
    """A collection of this test's own, so that the shared service's feed of it is the truth."""
    return f"{COUNTERS}-{uuid.uuid4().hex[:12]}"


def truth(service: ServiceProcess, collection: str = COUNTERS) -> list[int]:
    """Every seq of the collection's changes, from the feed's JSON form."""
    with service.client() as http:
        page = http.get(f"{collection}/_changes", params={"since": 0, "limit": 1000})
    assert page.status_code == 200, page.text
    return [change["seq"] for change in page.json()["results"]]


def assert_each_once_in_order(seen: list[Change], seqs: list[int]) -> None:
    assert [change.seq for change in seen] == seqs
    versions: dict[str, list[int]] = {}
    for change in seen:
        versions.setdefault(change.id, []).append(change.version)
    for numbers in versions.values():
        assert numbers == list(range(1, len(numbers) + 1))


def cuts_made(cutting: Relay, count: int) -> Callable[[], bool]:
    return lambda: cutting.cuts >= count


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_watch_sees_every_change_once_across_a_server_restart(tmp_path: Path) -> None:
    """3 documents, 10 increments each, the server stopped for 1.5 s halfway: the watcher's
    changes are the feed's, each once, in order, every document's versions 1..11."""
    db, port = str(tmp_path / "service.db"), free_port()
    url = f"http://127.0.0.1:{port}"
    total = 3 + 3 * 10
    seen: list[Change] = []

    def watch() -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            for change in ConflictClient(http).watch(COUNTERS, since=0):
                seen.append(change)
                if len(seen) == total:
                    break

    watcher = threading.Thread(target=watch)
    with start_service(db, log_dir(tmp_path, "before"), port=port) as first:
        with first.client() as http:
            writer = ConflictClient(http)
            docs = [writer.create(COUNTERS, {"n": 0}).url for _ in range(3)]
            watcher.start()
            for _ in range(5):
                for doc in docs:
                    writer.update(doc, increment)
        wait_for(lambda: len(seen) == 3 + 15)
    time.sleep(DOWN_FOR)
    with start_service(db, log_dir(tmp_path, "after"), port=port) as second:
        with second.client() as http:
            writer = ConflictClient(http)
            for _ in range(5):
                for doc in docs:
                    writer.update(doc, increment)
        watcher.join(60)
        assert not watcher.is_alive()
        assert_each_once_in_order(seen, truth(second))
    assert len(seen) == total


def test_an_async_watch_sees_every_change_once_across_cut_connections(
    service: ServiceProcess, counters: str
) -> None:
    """Four times the connection is cut in the middle of an event: the async watcher resumes
    from the last id it saw, and yields the feed's changes each once, in order."""
    total = 1 + 4 * 5

    async def scenario(through: str) -> list[Change]:
        seen: list[Change] = []
        async with (
            httpx.AsyncClient(base_url=through, timeout=10) as watching,
            httpx.AsyncClient(base_url=service.url, timeout=10) as writing,
        ):
            client, writer = AsyncConflictClient(watching), AsyncConflictClient(writing)

            async def watch() -> None:
                async for change in client.watch(counters, since=0, heartbeat=1):
                    seen.append(change)
                    if len(seen) == total:
                        break

            task = asyncio.create_task(watch())
            doc = (await writer.create(counters, {"n": 0})).url
            for cut in range(1, 5):
                cutting.cut_midway()
                for _ in range(5):
                    await writer.update(doc, increment)
                # The cut happened, on a change or a heartbeat (a thread's counter).
                await asyncio.to_thread(wait_for, cuts_made(cutting, cut))
            await asyncio.wait_for(task, 60)
        return seen

    with relay(service.url) as cutting:
        seen = asyncio.run(scenario(cutting.url))
        assert cutting.cuts == 4
        wait_for(lambda: cutting.open == 0, timeout=10)
    assert_each_once_in_order(seen, truth(service, counters))


def test_a_sync_watch_sees_every_change_once_across_cut_connections(
    service: ServiceProcess, counters: str
) -> None:
    """The same with the blocking client, watching in a thread: four cuts mid-event, each
    change yielded once, in order."""
    total = 1 + 4 * 5
    seen: list[Change] = []

    def watch(through: str) -> None:
        with httpx.Client(base_url=through, timeout=10) as http:
            for change in ConflictClient(http).watch(counters, since=0, heartbeat=1):
                seen.append(change)
                if len(seen) == total:
                    break

    with relay(service.url) as cutting, service.client() as http:
        watcher = threading.Thread(target=watch, args=(cutting.url,))
        watcher.start()
        writer = ConflictClient(http)
        doc = writer.create(counters, {"n": 0}).url
        for cut in range(1, 5):
            cutting.cut_midway()
            for _ in range(5):
                writer.update(doc, increment)
            wait_for(cuts_made(cutting, cut))
        watcher.join(60)
        assert not watcher.is_alive()
        wait_for(lambda: cutting.open == 0, timeout=10)
    assert_each_once_in_order(seen, truth(service, counters))
    assert len(seen) == total


def test_breaking_out_of_a_watch_closes_its_stream(service: ServiceProcess, counters: str) -> None:
    """A `break` closes the connection at once (sync), or when the generator is finalized
    (async, as soon as nothing refers to it)."""

    async def first_async(url: str) -> Change:
        async with httpx.AsyncClient(base_url=url) as http:
            async for change in AsyncConflictClient(http).watch(counters, since=0):  # noqa: B007
                assert counting.open == 1
                break
            for _ in range(100):  # the client is still open: the generator's end closed it
                if counting.open == 0:
                    return change
                await asyncio.sleep(0.05)
        raise AssertionError("the stream is still open 5 s after the break")

    with service.client() as http:
        assert http.post(counters, json={"n": 0}).status_code == 201
    with relay(service.url) as counting:
        with httpx.Client(base_url=counting.url) as http:
            for change in ConflictClient(http).watch(counters, since=0):  # noqa: B007
                assert counting.open == 1
                break
            wait_for(lambda: counting.open == 0, timeout=5)
        assert change.version == 1
        assert asyncio.run(first_async(counting.url)).version == 1


def test_an_expired_position_raises_changes_expired(tmp_path: Path) -> None:
    """Changes kept for 1 s and purged every second: since=0 gets 410, `ChangesExpired` with
    the oldest position the feed still takes."""
    options = ("--changes-retention", "1", "--purge-interval", "1")
    with start_service(str(tmp_path / "service.db"), tmp_path, extra=options) as service:
        with service.client() as http:
            assert http.post(COUNTERS, json={"n": 0}).status_code == 201
            assert http.post(COUNTERS, json={"n": 0}).status_code == 201
            wait_for(lambda: http.get(f"{COUNTERS}/_changes?since=0").status_code == 410)
        with service.client() as http, pytest.raises(ChangesExpired) as expired:
            next(iter(ConflictClient(http).watch(COUNTERS, since=0)))
    assert expired.value.status == 410
    assert isinstance(expired.value.oldest, int)
    assert expired.value.oldest >= 1
    assert "changes-expired" in str(expired.value)


def test_refusals_are_the_clients_problem_errors(
    service: ServiceProcess, counters: str, tmp_path: Path
) -> None:
    """400 (a since beyond the latest change), 401 (no token) and 403 (a role without the read
    right) end the watch at once with `RequestRefused` and the problem."""
    with service.client() as http, pytest.raises(RequestRefused) as beyond:
        next(iter(ConflictClient(http).watch(counters, since=10**9)))
    assert beyond.value.status == 400
    assert beyond.value.attempts == 1
    db = str(tmp_path / "locked.db")
    locked = ("--auth", "tokens", "--grant", "read=role:reader")
    with start_service(db, log_dir(tmp_path, "locked"), extra=locked) as service:
        outsider = bearer(create_token(db, "outsider", "guest"))
        refusals = []
        for headers in ({}, outsider):
            with (
                service.client(headers=headers) as http,
                pytest.raises(RequestRefused) as refused,
            ):
                next(iter(ConflictClient(http).watch(COUNTERS)))
            refusals.append(refused.value)
    assert [error.status for error in refusals] == [401, 403]
    assert all(error.problem is not None and error.attempts == 1 for error in refusals)
