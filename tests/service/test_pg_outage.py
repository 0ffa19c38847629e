"""PostgreSQL restarted, and stopped for 8 s, under the 16-client pure-counter hammer (2 workers).

Each of 16 clients reads one counter and PUTs ``{"n": n + 1}`` with If-Match
and a fresh Idempotency-Key. After a 5xx or no answer it waits Retry-After
(and a random part of it more, so that clients refused together do not
come back together) and sends the very same PUT again, with the same key,
until an answer says what became of it: a 2xx (perhaps replayed from the
key) is one increment, a 412 sends it back to read. A write whose answer
was lost when PostgreSQL went away is neither counted twice nor missed, so
the invariant is exact: final n == the number of writes answered 2xx.

Meanwhile a prober creates a new document every 50 ms, never waiting
(it tells when writes are back), and /healthz is asked every 100 ms.

- Restart: every request sent once PostgreSQL accepts connections again is
  answered as if nothing happened (no dead pooled connection is used), and
  /healthz says "up" from a second on.
- Stopped for 8 s: every answer during the outage is a 503 with
  Retry-After, within 2 s; /healthz answers within 1 s throughout, 503
  naming the database while it is down; a write succeeds within 1 s of
  PostgreSQL accepting connections again.

The PostgreSQL stopped is the test's own (tests/private_postgres.py), never
the machine's, which other tests are using at the same time.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from tests.backoff import backoff
from tests.private_postgres import PrivatePostgres
from tests.servers import ServiceProcess, start_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLIENTS = 16
JSON = {"content-type": "application/json"}
#: Long enough that a stalled answer is seen as slow, not as a lost connection.
TIMEOUT = 10.0
#: A write whose outcome no answer has told after this long fails the test.
RESOLVE_WITHIN = 60.0
WARM_UP = 2.0
OUTAGE = 8.0
AFTER = 3.0
#: The acceptance bounds.
REFUSAL_WITHIN = 2.0
HEALTH_WITHIN = 1.0
WRITES_BACK_WITHIN = 1.0


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (status None: no answer came)."""

    kind: str
    sent: float
    took: float
    status: int | None
    retry_after: str | None = None
    problem: str | None = None
    checks: dict[str, str] | None = None

    @property
    def answered(self) -> float:
        return self.sent + self.took

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.status} {self.problem or ''} after {self.took:.2f} s "
            f"(Retry-After {self.retry_after}) {self.checks or ''}"
        )


@dataclass
class Hammer:
    """The clients, the prober and the health checker, and everything they were answered."""

    url: str
    counter: str = field(default_factory=lambda: f"/v1/counters/{uuid.uuid4().hex}")
    exchanges: list[Exchange] = field(default_factory=list)
    successes: int = 0
    unresolved: int = 0
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Cleared: every thread waits before its next request (set from the start).
    going: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        with httpx.Client(base_url=self.url) as http:
            created = http.put(
                self.counter, content=b'{"n": 0}', headers={**JSON, "If-None-Match": "*"}
            )
            assert created.status_code == 201, created.text
        self.going.set()
        workers = [self.client] * CLIENTS + [self.prober, self.health]
        for n, work in enumerate(workers):
            thread = threading.Thread(target=work, name=f"outage-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> int:
        """Stop every thread (a write in doubt is first resolved); the counter's final n."""
        self.stopping.set()
        self.going.set()
        for thread in self.threads:
            thread.join(RESOLVE_WITHIN + TIMEOUT)
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as http:
            n: int = http.get(self.counter).json()["n"]
            return n

    def send(
        self, http: httpx.Client, kind: str, method: str, path: str, **how: object
    ) -> httpx.Response | None:
        sent = time.monotonic()
        try:
            answer: httpx.Response | None = http.request(method, path, **how)  # type: ignore[arg-type]  # httpx's keyword types
        except httpx.TransportError:
            answer = None
        took = time.monotonic() - sent
        if answer is None:
            exchange = Exchange(kind, sent, took, None)
        else:
            problem = checks = None
            if answer.headers.get("content-type") == "application/problem+json":
                problem = answer.json().get("type", "").removeprefix(PROBLEM_TYPE_BASE)
            if kind == "health":
                checks = answer.json().get("checks")
            exchange = Exchange(
                kind,
                sent,
                took,
                answer.status_code,
                answer.headers.get("retry-after"),
                problem,
                checks,
            )
        with self.lock:
            self.exchanges.append(exchange)
        return answer

    def client(self) -> None:
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as http:
            refusals = 0
            while not self.stopping.is_set():
                self.going.wait()
                began = time.monotonic()
                read = self.send(http, "read", "GET", self.counter)
                if read is None or read.status_code != 200:
                    if read is not None and read.status_code != 503:
                        self.note_unexpected(read)
                    pause(read)
                    continue
                body = json.dumps({"n": read.json()["n"] + 1})
                headers = {
                    **JSON,
                    "If-Match": read.headers["etag"],
                    "Idempotency-Key": f'"{uuid.uuid4().hex}"',
                }
                if self.write(http, body, headers):
                    refusals = 0
                else:
                    refusals += 1
                    time.sleep(backoff(refusals, time.monotonic() - began))

    def write(self, http: httpx.Client, body: str, headers: dict[str, str]) -> bool:
        """Send the PUT until an answer says what became of it; whether it was applied."""
        deadline = time.monotonic() + RESOLVE_WITHIN
        while time.monotonic() < deadline:
            answer = self.send(http, "write", "PUT", self.counter, content=body, headers=headers)
            if answer is not None and answer.is_success:
                with self.lock:
                    self.successes += 1
                return True
            if answer is not None and answer.status_code == 412:
                return False
            if answer is not None and answer.status_code not in (503, 504):
                self.note_unexpected(answer)
                return False
            pause(answer)
        with self.lock:
            self.unresolved += 1
        return False

    def prober(self) -> None:
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as http:
            while not self.stopping.is_set():
                self.going.wait()
                path = f"/v1/probes/{uuid.uuid4().hex}"
                headers = {**JSON, "If-None-Match": "*"}
                self.send(http, "probe", "PUT", path, content=b"{}", headers=headers)
                time.sleep(0.05)

    def health(self) -> None:
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as http:
            while not self.stopping.is_set():
                self.going.wait()
                self.send(http, "health", "GET", "/healthz")
                time.sleep(0.1)

    def pause(self) -> None:
        """Let the requests in flight finish, and send no more until `resume`."""
        self.going.clear()
        time.sleep(1.0)

    def resume(self) -> None:
        self.going.set()

    def note_unexpected(self, answer: httpx.Response) -> None:
        with self.lock:
            self.unexpected.append(f"{answer.status_code} {answer.text[:300]}")

    def of(
        self, *kinds: str, sent_from: float = 0.0, sent_until: float = float("inf")
    ) -> list[Exchange]:
        return [e for e in self.exchanges if e.kind in kinds and sent_from <= e.sent <= sent_until]


def pause(answer: httpx.Response | None) -> None:
    """Wait as a client that honours Retry-After does, plus up to half of it at random."""
    delay = 0.2
    if answer is not None and "retry-after" in answer.headers:
        delay = float(answer.headers["retry-after"])
    time.sleep(delay * random.uniform(1.0, 1.5))


@pytest.fixture(scope="module")
def private_postgres(module_private_postgres: PrivatePostgres) -> PrivatePostgres:
    """One private PostgreSQL for the module: each test leaves it running (initdb once)."""
    return module_private_postgres


@pytest.fixture(scope="module")
def service(
    private_postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """The service on a private PostgreSQL with 2 workers; 503 and 504 answers are expected.

    One for the module: each test hammers a counter of its own, and checks only the
    requests it sent (its own part of the access log).
    """
    with start_service(
        private_postgres.url,
        tmp_path_factory.mktemp("outage"),
        workers=2,
        allowed_5xx=frozenset({503, 504}),
        fork_workers=True,
    ) as running:
        yield running


def check_common(hammer: Hammer, final: int, service: ServiceProcess, seen: int) -> None:
    """What holds whatever happened: nothing lost or doubled, every 5xx says what to do.

    `seen`: the access log's records before the test (another test's requests).
    """
    assert hammer.unexpected == [], hammer.unexpected[:5]
    assert hammer.unresolved == 0, "a write never learnt what became of it"
    assert final == hammer.successes, f"final n {final} != {hammer.successes} writes answered 2xx"
    for exchange in hammer.exchanges:
        if exchange.status is None:
            continue
        if exchange.status >= 500:
            assert (exchange.status, exchange.problem) in {
                (503, "unavailable"),
                (504, "outcome-unknown"),
            }, str(exchange)
            assert exchange.retry_after is not None, str(exchange)
    served = service.access_log()[seen:]
    assert len({r["worker"] for r in served}) == 2, "both workers served"


def summary(hammer: Hammer, ready_at: float) -> str:
    failed = [e for e in hammer.exchanges if e.status is None or e.status >= 500]
    writes_back = [e for e in hammer.of("probe", sent_from=ready_at - 5) if e.status == 201]
    first = min((e.answered for e in writes_back if e.answered >= ready_at), default=None)
    health = max((e.took for e in hammer.of("health")), default=0.0)
    return (
        f"{hammer.successes} writes, {len(hammer.exchanges)} requests, {len(failed)} answered "
        f"5xx or not at all; /healthz at most {health:.3f} s; first write "
        f"{'never' if first is None else f'{first - ready_at:.3f} s'} after PostgreSQL was back"
    )


def test_a_restart_costs_at_most_the_requests_in_flight(
    private_postgres: PrivatePostgres, service: ServiceProcess
) -> None:
    """PostgreSQL restarted under load, then idle: each request sent once it is back succeeds."""
    seen = len(service.access_log())
    hammer = Hammer(service.url)
    hammer.start()
    try:
        time.sleep(WARM_UP)
        busy_ready_at = private_postgres.restart()
        time.sleep(WARM_UP)
        # Idle: the pooled connections die unused, and the next requests find them.
        hammer.pause()
        quiet_restart_at = time.monotonic()
        quiet_ready_at = private_postgres.restart()
        hammer.resume()
        time.sleep(AFTER)
    finally:
        final = hammer.stop()
    print("restart:", summary(hammer, busy_ready_at))
    check_common(hammer, final, service, seen)
    for back, what in [(busy_ready_at, "under load"), (quiet_restart_at, "while idle")]:
        after = hammer.of("read", "write", "probe", sent_from=back)
        # /healthz gives its ping half a second: one asked while the pool makes its
        # connections again on a loaded machine may say "down" (CI, twice: 0.63 s
        # after PostgreSQL was back under load). From WRITES_BACK_WITHIN on, it is
        # held to "up", as after an outage.
        after += hammer.of("health", sent_from=back + WRITES_BACK_WITHIN)
        failed = [str(e) for e in after if e.status is None or e.status >= 500]
        assert failed == [], f"{len(failed)} of {len(after)} after a restart {what}: {failed[:5]}"
    assert any(e.status == 200 for e in hammer.of("write", sent_from=quiet_ready_at))


def test_an_outage_is_refused_quickly_and_recovered_from(
    private_postgres: PrivatePostgres, service: ServiceProcess
) -> None:
    """PostgreSQL stopped 8 s under the hammer: 503 in 2 s, /healthz in 1 s, writes back in 1 s."""
    seen = len(service.access_log())
    hammer = Hammer(service.url)
    hammer.start()
    down_at = started_at = ready_at = float("inf")
    try:
        time.sleep(WARM_UP)
        try:
            down_at = private_postgres.stop()
            time.sleep(OUTAGE)
        finally:
            started_at = time.monotonic()
            ready_at = private_postgres.start()
        time.sleep(AFTER)
    finally:
        final = hammer.stop()
    print("outage:", summary(hammer, ready_at))
    check_common(hammer, final, service, seen)

    during = hammer.of("read", "write", "probe", sent_from=down_at, sent_until=started_at)
    assert len(during) > CLIENTS, "the clients kept asking during the outage"
    # A request sent near the end may get its connection once PostgreSQL is back,
    # which can be before `ready_at` (pg_isready is polled): only an answer made
    # before PostgreSQL was even being started again must be a 503.
    wrong = [
        str(e)
        for e in during
        if e.took > REFUSAL_WITHIN or (e.status != 503 and e.answered < started_at)
    ]
    assert wrong == [], f"{len(wrong)} of {len(during)} answers during the outage: {wrong[:5]}"

    health = hammer.of("health")
    slow = [str(e) for e in health if e.took > HEALTH_WITHIN]
    assert slow == [], f"/healthz slower than {HEALTH_WITHIN} s: {slow[:5]}"
    down = hammer.of("health", sent_from=down_at, sent_until=started_at)
    assert down
    # As for the requests above: an answer made once PostgreSQL was being
    # started again may already see it (a ping connects anew when no pooled
    # connection is free).
    not_down = [
        str(e)
        for e in down
        if e.answered < started_at
        and (e.status != 503 or (e.checks or {}).get("database") != "down")
    ]
    assert not_down == [], f"/healthz during the outage: {not_down[:5]}"
    up = hammer.of("health", sent_from=ready_at + WRITES_BACK_WITHIN)
    assert up
    not_up = [str(e) for e in up if e.status != 200]
    assert not_up == [], f"/healthz after the outage: {not_up[:5]}"

    back = [e.answered for e in hammer.of("probe", sent_from=started_at) if e.status == 201]
    assert back, "no write succeeded after the outage"
    assert min(back) - ready_at <= WRITES_BACK_WITHIN
    late = [
        str(e)
        for e in hammer.of("read", "write", "probe", sent_from=ready_at + WRITES_BACK_WITHIN)
        if e.status is None or e.status >= 500
    ]
    assert late == [], (
        f"refused more than {WRITES_BACK_WITHIN} s after PostgreSQL was back: {late[:5]}"
    )
