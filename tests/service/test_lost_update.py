"""Lost updates: 8 real concurrent clients hammering one counter on a real server, 2 workers.

Pure counters: every client reads the counter and writes ``n + 1``, nothing
of its own, so two clients that read the same n send the very same body,
as real clients do. Exactly one of them may win. The invariant is exact:
the final counter equals the number of 2xx answers, for PUT with If-Match,
PATCH with If-Match, PATCH with If-Match and ``Prefer: rebase`` (all
clients on the one field, so every stale patch clashes), a PUT guarded by
If-Unmodified-Since alone, and `ConflictClient.update` (sync and async).

The same clients against the blind-write path (no precondition, the
server started with --blind-writes) lose increments: proof that the
hammer can fail. So does a store that checks the ETag in a read of its
own and then updates the row whatever its ETag (check-then-write, tried
by hand on PostgreSQL): it lost 4 to 36 of the 80 increments of each
8 x 10 If-Match hammer below, and both `ConflictClient` hammers failed, in
each of 10 runs (8 to 21 of 40 at 8 x 5, 46 to 70 of 160 at 16 x 10). The
blind writes lost 64 to 70 of 80 in each of 10 runs.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, ConflictClient, RetryPolicy
from tests.backoff import backoff
from tests.servers import ServiceProcess, start_service

CLIENTS = 8
# 10 each: fewer let a quick SQLite serve 40 increments with only 9 refusals,
# too close to the CLIENTS the race must exceed.
INCREMENTS = 10
JSON = {"content-type": "application/json"}
MERGE = {"content-type": "application/merge-patch+json"}
# One connection per client, kept alive: the kernel hands the 8 connections
# to the two worker processes as they accept them (the test checks both
# served), and no request pays for a new connection.
# One connection per client; reused only within 1 s, well inside the service's
# 5 s keep-alive: a client starved of CPU for 5 s (a loaded CI machine) would
# otherwise send on a connection the service is closing (a ReadError).
SPREAD = httpx.Limits(max_connections=1, keepalive_expiry=1)

# The client's own backoff, sleeping for real, in steps a local server needs.
CLIENT_POLICY = RetryPolicy(attempts=500, budget=600.0, base=0.005, cap=0.25)

pytestmark = pytest.mark.slow


@dataclass
class Tally:
    """What the clients were answered: 2xx (the writes that count), and every status."""

    successes: int = 0
    refused: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def note(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


# A write: (client, url, what was read) -> the answer.
Write = Callable[[httpx.AsyncClient, str, httpx.Response], Awaitable[httpx.Response]]


async def put_if_match(http: httpx.AsyncClient, url: str, read: httpx.Response) -> httpx.Response:
    body = json.dumps({"n": read.json()["n"] + 1})
    return await http.put(url, content=body, headers={**JSON, "If-Match": read.headers["etag"]})


async def patch_if_match(http: httpx.AsyncClient, url: str, read: httpx.Response) -> httpx.Response:
    body = json.dumps({"n": read.json()["n"] + 1})
    return await http.patch(url, content=body, headers={**MERGE, "If-Match": read.headers["etag"]})


async def patch_rebased(http: httpx.AsyncClient, url: str, read: httpx.Response) -> httpx.Response:
    body = json.dumps({"n": read.json()["n"] + 1})
    headers = {**MERGE, "If-Match": read.headers["etag"], "Prefer": "rebase"}
    return await http.patch(url, content=body, headers=headers)


async def put_if_unmodified_since(
    http: httpx.AsyncClient, url: str, read: httpx.Response
) -> httpx.Response:
    body = json.dumps({"n": read.json()["n"] + 1})
    date = read.headers["last-modified"]
    return await http.put(url, content=body, headers={**JSON, "If-Unmodified-Since": date})


async def put_blind(http: httpx.AsyncClient, url: str, read: httpx.Response) -> httpx.Response:
    return await http.put(url, content=json.dumps({"n": read.json()["n"] + 1}), headers=JSON)


def new_counter(base: str) -> str:
    url = f"/v1/counters/{uuid.uuid4().hex}"
    with httpx.Client(base_url=base) as http:
        created = http.put(url, content=b'{"n": 0}', headers={**JSON, "If-None-Match": "*"})
        assert created.status_code == 201, created.text
    return url


def counter(base: str, url: str) -> int:
    with httpx.Client(base_url=base) as http:
        n: int = http.get(url).json()["n"]
        return n


def hammer(
    base: str,
    write: Write,
    *,
    increments: int = INCREMENTS,
    seconds: float | None = None,
    at_least: int = 0,
) -> tuple[int, Tally]:
    """8 clients, each `increments` times (or until `seconds` pass): read, write, retry.

    With `seconds`, the clients go on past them until `at_least` writes
    succeeded (for a minute at most): a busy machine slows the clients,
    not what the test proves.

    A refusal (412, or 409 when a rebase clashed) sends the client back to
    read again after a short random pause that grows with each refusal in a
    row, as a real client backs off; anything else fails the test. Returns
    (final counter, tally).
    """
    url = new_counter(base)
    tally = Tally()
    deadline = None if seconds is None else time.monotonic() + seconds

    def going(done: int) -> bool:
        if done >= increments:
            return False
        if deadline is None or time.monotonic() < deadline:
            return True
        return tally.successes < at_least and time.monotonic() < deadline + 60

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=SPREAD) as http:
            done = refusals = 0
            while going(done):
                began = time.monotonic()
                read = await http.get(url)
                assert read.status_code == 200, read.text
                answer = await write(http, url, read)
                tally.note(answer.status_code)
                if answer.is_success:
                    tally.successes += 1
                    done, refusals = done + 1, 0
                elif answer.status_code in (409, 412):
                    tally.refused += 1
                    refusals += 1
                    await asyncio.sleep(backoff(refusals, time.monotonic() - began))
                else:
                    pytest.fail(f"unexpected {answer.status_code}: {answer.text}")

    async def run() -> None:
        await asyncio.gather(*(client() for _ in range(CLIENTS)))

    asyncio.run(run())
    return counter(base, url), tally


@pytest.fixture(scope="module", params=["sqlite", "postgres", "postgres-group-commit"])
def two_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """The service with 2 worker processes, on SQLite and on PostgreSQL (group commit too)."""
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("hammer") / "counter.db")
    else:
        db = request.getfixturevalue("postgres_module_schema")
    extra = ("--pg-group-commit", "on") if request.param == "postgres-group-commit" else ()
    with start_service(
        db, tmp_path_factory.mktemp("log"), workers=2, extra=extra, fork_workers=True
    ) as service:
        yield service


@pytest.mark.parametrize(
    ("write", "refusal"),
    [
        pytest.param(put_if_match, 412, id="put-if-match"),
        pytest.param(patch_if_match, 412, id="patch-if-match"),
        pytest.param(patch_rebased, 409, id="patch-if-match-prefer-rebase"),
    ],
)
def test_no_increment_is_lost(two_workers: ServiceProcess, write: Write, refusal: int) -> None:
    """8 clients x 10 pure-counter increments, 2 workers: final n == 2xx answers == 80."""
    final, tally = hammer(two_workers.url, write)
    print(f"{write.__name__}: {tally.successes} written, {tally.refused} refused, final {final}")
    assert tally.successes == CLIENTS * INCREMENTS
    assert final == tally.successes
    # The clients really raced (without contention the test would prove
    # nothing), and a stale write was refused the way it should be.
    assert set(tally.statuses) == {200, refusal}
    assert tally.refused > CLIENTS
    # Both worker processes served the race.
    assert len({r["worker"] for r in two_workers.access_log()}) == 2


def test_if_unmodified_since_loses_no_increment(two_workers: ServiceProcess) -> None:
    """The same clients guarding with If-Unmodified-Since alone, for 4 seconds: none lost.

    A date names a second, so at most about one write a second can be told
    apart from the next; two writers holding one second's date never both win.
    """
    final, tally = hammer(two_workers.url, put_if_unmodified_since, seconds=4, at_least=2)
    print(f"if-unmodified-since: {tally.successes} written, {tally.refused} refused")
    assert tally.successes >= 2
    assert final == tally.successes
    assert set(tally.statuses) == {200, 412}


def test_conflict_client_loses_no_increment(two_workers: ServiceProcess) -> None:
    """8 threads x 10 `ConflictClient.update` pure-counter increments: final n == 80."""
    url = new_counter(two_workers.url)
    done: list[int] = []
    failures: list[BaseException] = []
    policy = CLIENT_POLICY

    def work() -> None:
        try:
            with (
                httpx.Client(base_url=two_workers.url, timeout=30, limits=SPREAD) as http,
                ConflictClient(http, policy=policy) as client,
            ):
                for _ in range(INCREMENTS):
                    client.update(url, lambda doc: {**doc, "n": doc["n"] + 1})
                    done.append(1)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:1]
    assert counter(two_workers.url, url) == len(done) == CLIENTS * INCREMENTS


def test_async_conflict_client_loses_no_increment(two_workers: ServiceProcess) -> None:
    """8 tasks x 10 `AsyncConflictClient.update` pure-counter increments: final n == 80."""
    url = new_counter(two_workers.url)
    policy = CLIENT_POLICY

    async def work() -> int:
        async with (
            httpx.AsyncClient(base_url=two_workers.url, timeout=30, limits=SPREAD) as http,
            AsyncConflictClient(http, policy=policy) as client,
        ):
            for _ in range(INCREMENTS):
                await client.update(url, lambda doc: {**doc, "n": doc["n"] + 1})
        return INCREMENTS

    async def run() -> int:
        return sum(await asyncio.gather(*(work() for _ in range(CLIENTS))))

    done = asyncio.run(run())
    assert counter(two_workers.url, url) == done == CLIENTS * INCREMENTS


def test_blind_writes_lose_updates(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same clients without a precondition, against --blind-writes: increments are lost."""
    db = str(tmp_path_factory.mktemp("blind") / "counter.db")
    log_dir = tmp_path_factory.mktemp("log")
    with start_service(
        db, log_dir, workers=2, extra=("--blind-writes",), fork_workers=True
    ) as service:
        final, tally = hammer(service.url, put_blind)
    assert tally.successes == CLIENTS * INCREMENTS
    assert final < tally.successes, "no increment was lost: the hammer is not concurrent enough"
    print(f"blind: {tally.successes} writes, final {final}, lost {tally.successes - final}")
