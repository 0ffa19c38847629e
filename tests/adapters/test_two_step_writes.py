"""A write that committed, then failed: never applied twice, on any key store.

The app (two_step_apps.py, served by uvicorn) commits each write's side
effect in one transaction (an order; the counter's If-Match update), then
fails in a second one: its database gives the ledger row's lock up (the
test holds it: a 503 ``unavailable`` by its error's class), or the
connection carrying the ledger statement is cut (a 504). The real httpx
client (`ConflictClient`) then does what its rules say with the answer.

A 503 ``unavailable`` says "nothing was applied": a client resends the
write, and an idempotency middleware that released the key on the 5xx
runs it again. So the outage is a 504 ``outcome-unknown`` once a
transaction of the request committed a write, and the middleware records
an answer after which something may be applied instead of releasing its
key: a resend gets that answer, replayed, and the client ends with
`OutcomeUnknown` (read the resource to learn what is there), never with a
second order or a counter moved twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.own_database import own_database
from tests.pg_proxy import PgProxy, pg_proxy
from tests.servers import start_app

pytest.importorskip("sqlalchemy")
psycopg = pytest.importorskip("psycopg")

from httpconflict.httpx import (  # noqa: E402
    ConflictClient,
    ConflictError,
    OutcomeUnknown,
    VirtualClock,
)

STORES = ("memory", "redis", "postgres", "sqlalchemy", "none")
#: The stores apart from the app's database (generic `IdempotencyPolicy`).
GENERIC = ("memory", "redis", "postgres")
FAULTS = ("lock", "cut")


class Server:
    """The app's URL, its database, and the proxy in front of that database."""

    def __init__(self, url: str, database: str, proxy: PgProxy, log_dir: Path) -> None:
        self.url = url
        self.database = database
        self.proxy = proxy
        #: Where the server's log is (app-PORT.log).
        self.log_dir = log_dir

    def log(self) -> str:
        return "".join(path.read_text() for path in self.log_dir.glob("app-*.log"))


@pytest.fixture(scope="module")
def server(
    postgres_server: str, redis_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with (
        own_database(postgres_server, "hc_exactly6_app") as (_, database),
        own_database(postgres_server, "hc_exactly6_keys") as (_, keys),
        pg_proxy(database) as proxy,
    ):
        env = {
            "TWO_STEP_DATABASE": proxy.url(database).replace(
                "postgresql://", "postgresql+psycopg://"
            ),
            "TWO_STEP_KEYS": keys,
            "TWO_STEP_REDIS": redis_server,
        }
        log_dir = tmp_path_factory.mktemp("two-step")
        factory = "tests.adapters.two_step_apps:create"
        with start_app(factory, log_dir, env=env, probe="/none/orders/count") as url:
            yield Server(url, database, proxy, log_dir)


class Fault:
    """Makes the app's second transaction fail once: a held lock, or a cut connection."""

    def __init__(self, kind: str, server: Server) -> None:
        self.kind = kind
        self.server = server
        self.holder: Any = None
        #: Status of each answer to a write, in order.
        self.statuses: list[int] = []

    def __enter__(self) -> Fault:
        if self.kind == "cut":
            self.server.proxy.cut_request_with(b"two-step-ledger")
        else:
            self.holder = psycopg.connect(self.server.database)
            self.holder.execute("SELECT n FROM two_step_ledger WHERE id = 1 FOR UPDATE")
        return self

    def on_answer(self, response: httpx.Response) -> None:
        """The first answer to a write ends the fault: the database is back."""
        if response.request.method == "GET" or response.status_code == 405:
            return
        self.statuses.append(response.status_code)
        self.end()

    def end(self) -> None:
        if self.holder is not None:
            self.holder.close()  # rolls back: the lock is released
            self.holder = None

    def __exit__(self, *exc: object) -> None:
        self.end()


@contextmanager
def client(server: Server, fault: Fault) -> Iterator[ConflictClient]:
    hooks = {"response": [fault.on_answer]}
    with httpx.Client(base_url=server.url, timeout=10, event_hooks=hooks) as http:
        yield ConflictClient(http, clock=VirtualClock())


def counted(server: Server, path: str, read: Callable[[dict[str, Any]], int]) -> int:
    return read(httpx.get(server.url + path, timeout=10).json())


@pytest.mark.parametrize("kind", FAULTS)
def test_a_create_that_committed_then_failed_makes_one_order(server: Server, kind: str) -> None:
    """A keyed create whose order committed before the request failed: one order, on each store."""
    made: dict[str, int] = {}
    outcomes: dict[str, str] = {}
    first: dict[str, int] = {}
    for store in STORES:
        before = counted(server, f"/{store}/orders/count", lambda b: b["orders"])
        with Fault(kind, server) as fault, client(server, fault) as orders:
            try:
                orders.create(f"/{store}/orders", {"item": "tea"}, key=str(uuid.uuid4()))
                outcomes[store] = "created"
            except ConflictError as error:
                outcomes[store] = type(error).__name__
        made[store] = counted(server, f"/{store}/orders/count", lambda b: b["orders"]) - before
        first[store] = fault.statuses[0]
    # A server that ignores keys makes an order on each try that reaches it
    # (docs/client.md, `create`): only the stores are held to one.
    keyed = {store: made[store] for store in STORES if store != "none"}
    assert keyed == dict.fromkeys(keyed, 1), (made, outcomes, first)
    # A store apart from the orders can only say "it may have been applied";
    # transactional keys recorded with the order replay its 201.
    assert outcomes == {**dict.fromkeys(GENERIC, "OutcomeUnknown"), "sqlalchemy": "created"} | {
        "none": outcomes["none"]
    }
    # The first answer says the write may have been applied.
    assert first == dict.fromkeys(STORES, 504), first


@pytest.mark.parametrize("kind", FAULTS)
def test_an_update_that_committed_then_failed_is_applied_once(server: Server, kind: str) -> None:
    """A counter update whose UPDATE committed before the request failed: applied once."""
    moved: dict[str, int] = {}
    outcomes: dict[str, str] = {}
    for store in STORES:
        before = counted(server, f"/{store}/counter", lambda b: b["n"])
        with Fault(kind, server) as fault, client(server, fault) as counter:
            try:
                counter.update(f"/{store}/counter", lambda c: {"n": c["n"] + 1})
                outcomes[store] = "updated"
            except ConflictError as error:
                outcomes[store] = type(error).__name__
        moved[store] = counted(server, f"/{store}/counter", lambda b: b["n"]) - before
    assert moved == dict.fromkeys(STORES, 1), (moved, outcomes)
    # Without keys (none), the If-Match makes the resend a 412, which after a
    # 504 cannot tell: OutcomeUnknown too.
    expected = {**dict.fromkeys((*GENERIC, "none"), "OutcomeUnknown"), "sqlalchemy": "updated"}
    assert outcomes == expected


@pytest.mark.parametrize("store", GENERIC)
def test_a_raise_after_a_commit_answers_what_its_key_replays(server: Server, store: str) -> None:
    """The app committed an order, then raised: the first answer is the one its key replays.

    The key records "failed after applying part of this request" (a retry
    must not run the write again); the client that sent the request gets
    that answer too, not the framework's 500 that hides it, and the
    error still reaches the server's log, on the line of the incident
    that answer names.
    """
    from tests.adapters.two_step_apps import FAILED_AFTER_COMMIT

    key = str(uuid.uuid4())
    before = counted(server, f"/{store}/orders/count", lambda b: b["orders"])
    logged = server.log().count(FAILED_AFTER_COMMIT)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        sent = [
            http.post(
                f"/{store}/orders/failing", json={"item": "tea"}, headers={"Idempotency-Key": key}
            )
            for _ in range(2)
        ]
    first, replay = sent
    assert counted(server, f"/{store}/orders/count", lambda b: b["orders"]) - before == 1
    assert replay.headers.get("idempotent-replayed") == "true"
    assert first.headers.get("idempotent-replayed") is None
    assert (first.status_code, first.headers["content-type"]) == (
        replay.status_code,
        replay.headers["content-type"],
    )
    assert first.status_code == 500
    assert first.json() == replay.json()
    assert "after applying part of this request" in first.json()["detail"]
    incident = first.json()["incident"]
    deadline = time.monotonic() + 5
    while incident not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    said = [line for line in server.log().splitlines() if incident in line]
    assert len(said) == 1, "the error never reached the log under the answer's incident"
    assert FAILED_AFTER_COMMIT in said[0]
    assert "two_step_apps.py" in said[0]  # where it was raised
    assert server.log().count(FAILED_AFTER_COMMIT) > logged


@pytest.mark.parametrize("store", GENERIC)
def test_a_base_exception_after_a_commit_leaves_no_key_claimed(server: Server, store: str) -> None:
    """SystemExit (or a cancellation) after the commit: the key records the failure before the
    error goes on. It went on at once: the key stayed claimed, a resend got 409 until the lease
    ended, and then ran the write again."""
    key = str(uuid.uuid4())
    before = counted(server, f"/{store}/orders/count", lambda b: b["orders"])
    with httpx.Client(base_url=server.url, timeout=10) as http:
        first = http.post(
            f"/{store}/orders/exiting", json={"item": "tea"}, headers={"Idempotency-Key": key}
        )
        resend = http.post(
            f"/{store}/orders/exiting", json={"item": "tea"}, headers={"Idempotency-Key": key}
        )
    assert first.status_code == 500
    assert resend.status_code == 500, resend.text
    assert resend.headers.get("idempotent-replayed") == "true"
    assert "after applying part of this request" in resend.json()["detail"]
    assert counted(server, f"/{store}/orders/count", lambda b: b["orders"]) - before == 1


@pytest.mark.parametrize("store", GENERIC)
def test_a_whole_answer_then_a_background_failure_stands(server: Server, store: str) -> None:
    """A 201 sent whole, then its background task raises: the 201 is the answer, recorded and
    replayed. It was taken for the request's failure: a 500 recorded, the 201 lost."""
    from tests.adapters.two_step_apps import FAILED_IN_BACKGROUND

    key = str(uuid.uuid4())
    before = counted(server, f"/{store}/orders/count", lambda b: b["orders"])
    with httpx.Client(base_url=server.url, timeout=10) as http:
        first, resend = (
            http.post(
                f"/{store}/orders/background",
                json={"item": "tea"},
                headers={"Idempotency-Key": key},
            )
            for _ in range(2)
        )
    assert first.status_code == 201, first.text
    assert resend.status_code == 201, resend.text
    assert resend.headers.get("idempotent-replayed") == "true"
    assert resend.json() == first.json()
    assert counted(server, f"/{store}/orders/count", lambda b: b["orders"]) - before == 1
    deadline = time.monotonic() + 5
    while FAILED_IN_BACKGROUND not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert FAILED_IN_BACKGROUND in server.log()


def test_outcome_unknown_is_what_the_client_raises() -> None:
    """`OutcomeUnknown` is the `ConflictError` that says "it may have been applied"."""
    assert issubclass(OutcomeUnknown, ConflictError)


def test_an_unkeyed_raise_after_a_commit_says_part_was_applied(server: Server) -> None:
    """Without a key (no middleware), the 500 of `install(app)` says that part of the request
    was applied, and names the incident its log line has; it said "see its log" alone."""
    from tests.adapters.two_step_apps import FAILED_AFTER_COMMIT

    before = counted(server, "/none/orders/count", lambda b: b["orders"])
    answer = httpx.post(server.url + "/none/orders/failing", json={"item": "tea"}, timeout=10)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "after applying part of this request" in answer.json()["detail"]
    incident = answer.json()["incident"]
    assert counted(server, "/none/orders/count", lambda b: b["orders"]) - before == 1
    deadline = time.monotonic() + 5
    while incident not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    said = [line for line in server.log().splitlines() if incident in line]
    assert len(said) == 1
    assert FAILED_AFTER_COMMIT in said[0]
