"""Lost answers (issue 13): answers lost after the server wrote; no update lost, none made twice.

A real TCP proxy (tests/proxy.py) between the clients and `httpconflict
serve` (two workers) drops 5% of the server's answers after the server
produced them, so the client sees its connection drop although the write
was applied. Eight clients, four `ConflictClient` threads and four
`AsyncConflictClient` tasks, each make 38 increments of one counter with
`update`. Pure counters: every write is ``{"n": n + 1}`` from what its
client read, nothing per client in the body.

Every call must either succeed or raise `OutcomeUnknown`, and the counter
must equal exactly the number of writes the server applied, which the proxy
knows (every 2xx answer to a PATCH or PUT that was not a replay, forwarded
or dropped): the successes, plus those unknowns whose write in doubt was in
fact applied. Each success stands for at least one applied write and each
applied unknown for one, so the equality leaves no room for a write
applied twice, nor for one lost.

The controls show the proxy bites: a plain client that resends a PATCH
without an Idempotency-Key after a lost answer, and rereads on the 412 it
gets, makes increments twice; `ConflictClient` against a server that
ignores keys never does, and says OutcomeUnknown instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, ConflictClient, OutcomeUnknown, RetryPolicy
from tests.proxy import LossyProxy, draws, lossy_proxy
from tests.servers import start_service

SYNC_CLIENTS = 4
ASYNC_CLIENTS = 4
# 8 x 38 updates: each ends after a GET and a PATCH answered at least, so
# 304 answers to GET and to PATCH each at least, past the 300 SEED needs.
INCREMENTS = 38
DROP = 0.05
# With this seed, every run of 300 or more answers to one method loses at
# least 3% of them (test_the_seed_loses_enough): the share lost is then
# certain, not likely, whatever the interleaving of the clients.
SEED = 13
# Generous, so that retries rarely run out: an unknown outcome is then a
# lost answer whose every resend was lost too, or a refusal (see the control).
# The short cap: a local server takes a few milliseconds a write, and waits
# of seconds would only make the run longer. Time bounds an operation, as
# in the library's default policy; the count only stops a runaway: with
# the short cap, 50 attempts were spent in about 12 s of connections refused
# while an app restarted (tests/adapters/test_example_restarts.py), which a
# loaded machine takes longer than.
POLICY = RetryPolicy(attempts=1000, budget=60.0, cap=0.5)
COUNTER = "/v1/counters/lost-answers"
WRITES = ("PATCH", "PUT")


def increment(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "n": doc["n"] + 1}


@dataclass
class Calls:
    """How the `update` calls ended: successes, and the key of each unknown's write in doubt."""

    successes: int = 0
    unknown_keys: list[str | None] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def success(self) -> None:
        with self._lock:
            self.successes += 1

    def unknown(self, error: OutcomeUnknown) -> None:
        sent = error.outcome.sent
        with self._lock:
            self.unknown_keys.append(sent.header("idempotency-key") if sent else None)

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.failures.append(error)

    @property
    def total(self) -> int:
        return self.successes + len(self.unknown_keys)


def create_counter(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as http:
        created = http.put(COUNTER, json={"n": 0}, headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
    return base + COUNTER


def read_counter(base: str) -> int:
    with httpx.Client(base_url=base, timeout=10) as http:
        n: int = http.get(COUNTER).json()["n"]
    return n


def hammer(
    url: str,
    *,
    sync_clients: int,
    async_clients: int,
    increments: int,
    change: Callable[[Any], Any] = increment,
) -> Calls:
    """`increments` updates (`change`) by each of the clients, all at once; how each call ended."""
    calls = Calls()

    def sync_client() -> None:
        try:
            with httpx.Client(timeout=10) as http:
                client = ConflictClient(http, policy=POLICY)
                for _ in range(increments):
                    try:
                        client.update(url, change)
                    except OutcomeUnknown as error:
                        calls.unknown(error)
                    else:
                        calls.success()
        except BaseException as error:  # reported by the test
            calls.failed(error)

    async def async_client() -> None:
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                client = AsyncConflictClient(http, policy=POLICY)
                for _ in range(increments):
                    try:
                        await client.update(url, change)
                    except OutcomeUnknown as error:
                        calls.unknown(error)
                    else:
                        calls.success()
        except BaseException as error:  # reported by the test
            calls.failed(error)

    async def async_clients_() -> None:
        await asyncio.gather(*(async_client() for _ in range(async_clients)))

    runs: list[Callable[[], object]] = [sync_client] * sync_clients
    if async_clients:
        runs.append(lambda: asyncio.run(async_clients_()))
    threads = [threading.Thread(target=run) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return calls


@dataclass(frozen=True, slots=True, repr=False)
class Measured:
    """What one run did, from the calls' side and from the proxy's."""

    calls: int
    successes: int
    unknowns: int
    #: Unknowns whose write in doubt the server had in fact applied.
    applied_unknowns: int
    answers: int
    dropped: int
    write_answers: int
    dropped_writes: int
    #: Dropped answers that said a write was applied (not replays).
    dropped_applied: int
    replays: int
    #: Writes the server applied (2xx to a PATCH or PUT, not a replay).
    applied: int
    keys_applied_twice: int
    applied_without_key: int
    final: int
    connections: int
    dropped_by: dict[tuple[str, int], int]

    @classmethod
    def of(cls, calls: Calls, proxy: LossyProxy, final: int) -> Measured:
        exchanges = proxy.tally.snapshot()
        writes = [e for e in exchanges if e.method in WRITES]
        applied = proxy.tally.applied(WRITES)
        return cls(
            calls=calls.total,
            successes=calls.successes,
            unknowns=len(calls.unknown_keys),
            applied_unknowns=sum(key is not None and key in applied for key in calls.unknown_keys),
            answers=len(exchanges),
            dropped=sum(e.dropped for e in exchanges),
            write_answers=len(writes),
            dropped_writes=sum(e.dropped for e in writes),
            dropped_applied=sum(e.dropped and e.applied for e in writes),
            replays=proxy.tally.replays(),
            applied=sum(applied.values()),
            keys_applied_twice=sum(count > 1 for key, count in applied.items() if key is not None),
            applied_without_key=applied[None],
            final=final,
            connections=proxy.tally.connections,
            dropped_by=dict(sorted(proxy.tally.dropped().items())),
        )

    def __repr__(self) -> str:
        return (
            f"calls={self.calls} successes={self.successes} unknowns={self.unknowns} "
            f"(applied {self.applied_unknowns}) answers={self.answers} "
            f"dropped={self.dropped} ({self.dropped / max(1, self.answers):.1%}) "
            f"dropped_writes={self.dropped_writes}/{self.write_answers} "
            f"dropped_applied={self.dropped_applied} replays={self.replays} "
            f"applied={self.applied} final_n={self.final} connections={self.connections} "
            f"dropped_by={self.dropped_by}"
        )


def run_through_proxy(
    service_url: str, *, drop: float, clients: Callable[[str], Calls]
) -> tuple[Calls, Measured]:
    """A fresh counter, `clients` incrementing it through a lossy proxy; what they measured."""
    url = create_counter(service_url)
    with lossy_proxy(service_url, drop=drop, seed=SEED) as proxy:
        calls = clients(url.replace(service_url, proxy.url))
    final = read_counter(service_url)
    assert proxy.tally.errors == []
    assert proxy.tally.unanswered == 0
    return calls, Measured.of(calls, proxy, final)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "lost-answers.db")
    url: str = request.getfixturevalue("postgres_schema")
    return url


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_the_seed_loses_enough(method: str) -> None:
    """The proxy's draws for SEED: any first 300 to 10,000 answers to a method lose >= 3%."""
    stream, lost = draws(SEED, method), 0
    for count in range(1, 10_001):
        lost += stream.random() < DROP
        assert count < 300 or lost >= 0.03 * count, (count, lost)


@pytest.mark.slow
def test_lost_answers_lose_no_update_and_apply_none_twice(database: str, tmp_path: Path) -> None:
    """Answers lost after writes: final n == writes applied == successes + unknowns applied."""
    with start_service(database, tmp_path, workers=2) as service:
        calls, m = run_through_proxy(
            service.url,
            drop=DROP,
            clients=lambda url: hammer(
                url, sync_clients=SYNC_CLIENTS, async_clients=ASYNC_CLIENTS, increments=INCREMENTS
            ),
        )
    print(f"\n{'postgres' if database.startswith('postgresql') else 'sqlite'}: {m}")
    assert calls.failures == []
    assert m.calls == (SYNC_CLIENTS + ASYNC_CLIENTS) * INCREMENTS
    assert m.dropped >= 0.03 * m.answers, m
    assert m.dropped_writes >= 0.03 * m.write_answers, m
    assert m.dropped_applied > 0, m
    assert (m.applied_without_key, m.keys_applied_twice) == (0, 0), m
    # Each success stands for one applied write at least, and so does each
    # applied unknown: equality leaves none applied twice, and none lost.
    assert m.final == m.applied == m.successes + m.applied_unknowns, m
    assert m.applied <= m.calls, m
    # Unknowns come only from retries running out: rare with this policy.
    assert m.unknowns <= 0.01 * m.calls, m


# -- controls: the proxy makes a client without keys apply changes twice ----------------------

CONTROL_INCREMENTS = 40
CONTROL_DROP = 0.2


def naive_increments(url: str, count: int) -> int:
    """Read, PATCH n + 1 with If-Match, no key; resend on a lost answer, reread on 412.

    The resend of a PATCH that was applied gets a 412 (the counter moved
    on, by this very write), so the client increments again. Returns the
    increments it was told succeeded.
    """
    successes = 0
    with httpx.Client(timeout=10) as http:
        while successes < count:
            try:
                current = http.get(url)
            except httpx.TransportError:
                continue
            headers = {
                "Content-Type": "application/merge-patch+json",
                "If-Match": current.headers["etag"],
            }
            body = {"n": current.json()["n"] + 1}
            while True:
                try:
                    answer = http.patch(url, json=body, headers=headers)
                except httpx.TransportError:
                    continue
                break
            if answer.status_code == 200:
                successes += 1
            else:
                assert answer.status_code == 412, answer.text
    return successes


def test_control_a_client_without_keys_applies_changes_twice(tmp_path: Path) -> None:
    """The same proxy, a client that resends without an Idempotency-Key: final n > successes."""
    with start_service(str(tmp_path / "control.db"), tmp_path) as service:
        told = Calls()

        def naive(url: str) -> Calls:
            told.successes = naive_increments(url, CONTROL_INCREMENTS)
            return told

        _, m = run_through_proxy(service.url, drop=CONTROL_DROP, clients=naive)
    print(f"\ncontrol, no keys: {m}")
    assert m.successes == CONTROL_INCREMENTS
    assert m.final == m.applied == m.applied_without_key > m.successes, m


def test_control_without_server_keys_the_client_says_unknown(tmp_path: Path) -> None:
    """A server that ignores keys: ConflictClient makes no change twice, it says OutcomeUnknown."""
    db = str(tmp_path / "control.db")
    with start_service(db, tmp_path, extra=("--idempotency", "off")) as service:
        calls, m = run_through_proxy(
            service.url,
            drop=CONTROL_DROP,
            clients=lambda url: hammer(
                url, sync_clients=1, async_clients=0, increments=CONTROL_INCREMENTS
            ),
        )
    print(f"\ncontrol, server ignores keys: {m}")
    assert calls.failures == []
    assert m.replays == 0
    assert m.applied_unknowns > 0, m
    assert m.final == m.applied == m.successes + m.applied_unknowns, m
