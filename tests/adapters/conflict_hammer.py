"""Clients of a `conflict_ledger` app, and what they were told, checked against what is stored.

Counter clients read n and PUT n + 1 with If-Match and a fresh
Idempotency-Key (a pure counter: no writer id in the body); order clients
POST an order under a fresh key. Each resends a 503 (or a 409) under the
same key at once, until it gets another answer: the first answer of a
key that is not a 503 or a 409 is its outcome.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.adapters.conflict_ledger import Stored, prepare, stored
from tests.servers import start_app

#: Resends of one key before a client gives it up (each a conflict the database rolled back).
RESENDS = 50


@dataclass
class Tally:
    """What the clients were told: answers by kind, each key's outcome, and what is wrong."""

    statuses: Counter[str] = field(default_factory=Counter)
    #: Each key's outcome: the status of its first answer that is neither a 503 nor a 409.
    outcomes: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: Keys resent after a 503 or a 409.
    resent: set[str] = field(default_factory=set)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str, key: str, answer: httpx.Response) -> bool:
        """Count `answer` to `key`'s request; whether it is final (not a 503 or a 409)."""
        status = answer.status_code
        replayed = answer.headers.get("Idempotent-Replayed") == "true"
        with self.lock:
            self.statuses[f"{what} {status}{' replayed' if replayed else ''}"] += 1
            # A 5xx is a 503 saying when to resend, or a 504 (`check` counts those).
            if status == 500 or status > 504 or (status == 503 and not _retry_said(answer)):
                self.wrong.append(f"{what} {status}: {answer.text[:300]}")
            if replayed:
                self.wrong.append(f"{what} {status} replayed: a resend that did not run")
            if status in (503, 409):
                self.resent.add(key)
                return False
            self.outcomes[key] = (what, status)
            return True

    def summary(self, found: Stored) -> str:
        return (
            f"{dict(self.statuses)}; keys resent {len(self.resent)}; stored n {found.n}, "
            f"{len(found.versions)} versions, {len(found.numbers)} orders"
        )


def _retry_said(answer: httpx.Response) -> bool:
    problem = answer.headers.get("content-type", "").startswith("application/problem+json")
    return problem and "Retry-After" in answer.headers


def _send(
    http: httpx.Client, tally: Tally, what: str, body: object, headers: dict[str, str]
) -> None:
    """Send `what` under a fresh key, and again under it after each 503 or 409."""
    method, path = what.split(" ")
    key = uuid.uuid4().hex
    for _ in range(RESENDS):
        try:
            answer = http.request(
                method, path, json=body, headers={**headers, "Idempotency-Key": key}
            )
        except httpx.TransportError as error:
            with tally.lock:
                tally.wrong.append(f"{what}: {error!r}")
            return
        if tally.note(what, key, answer):
            return
    with tally.lock:
        tally.wrong.append(f"{what} {key}: still refused after {RESENDS} resends")


def _counter(base: str, tally: Tally, end: float) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() < end:
            read = http.get("/counter")
            if read.status_code != 200:
                with tally.lock:
                    tally.statuses[f"GET {read.status_code}"] += 1
                continue
            body = {"n": read.json()["n"] + 1}
            etag = read.headers["ETag"]
            _send(http, tally, "PUT /counter", body, {"If-Match": etag})


def _orders(base: str, tally: Tally, end: float) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() < end:
            _send(http, tally, "POST /orders", {}, {})


def hammer(base: str, seconds: float, *, counters: int = 3, orders: int = 3) -> Tally:
    """Run `counters` counter clients and `orders` order clients for `seconds`."""
    tally = Tally()
    end = time.monotonic() + seconds
    clients = [threading.Thread(target=_counter, args=(base, tally, end)) for _ in range(counters)]
    clients += [threading.Thread(target=_orders, args=(base, tally, end)) for _ in range(orders)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    return tally


def check(tally: Tally, found: Stored, *, unknown_allowed: bool = False) -> None:
    """The invariants: every 2xx is one write, every key runs once, nothing is a 504.

    `unknown_allowed`: a 504 is an answer the database's error allows (SQLite's busy
    COMMIT); its key then holds no write either.
    """
    said = tally.summary(found)
    assert not tally.wrong, f"{tally.wrong[:5]}; {said}"
    if not unknown_allowed:
        assert not [s for s in tally.statuses if s.endswith(" 504")], said
    saved = [k for k, (what, s) in tally.outcomes.items() if what == "PUT /counter" and s == 200]
    ordered = [k for k, (what, s) in tally.outcomes.items() if what == "POST /orders" and s == 201]
    assert saved, said
    assert ordered, said
    # A pure counter: each 200 one increment, none lost, none made twice.
    assert found.n == len(saved), said
    assert found.versions == list(range(1, len(saved) + 2)), said
    assert found.ledger_keys == Counter(saved), said
    # One order per key answered 201, none for any other key; numbered without a gap.
    assert found.order_keys == Counter(ordered), said
    assert found.numbers == list(range(1, len(ordered) + 1)), said
    # The resends ran (a 200, a 201, or a 412 when another write came first), and made one
    # write at most (above).
    outcomes = Counter(tally.outcomes[k][1] for k in tally.resent if k in tally.outcomes)
    assert unknown_allowed or outcomes, said
    assert set(outcomes) <= {200, 201, 412, 504}, said


#: How long the clients hammer an app.
SECONDS = 2.0


def hammered(factory: str, url: str, log_dir: Path, *, wsgi: bool) -> tuple[Tally, Stored]:
    """Serve `factory` on the `conflict_ledger` tables made at `url`, hammer it: told, stored."""
    prepare(url)
    env = {"CONFLICT_DATABASE": url}
    with start_app(factory, log_dir, env=env, probe="/healthz", wsgi=wsgi) as base:
        tally = hammer(base, SECONDS)
    return tally, stored(url)
