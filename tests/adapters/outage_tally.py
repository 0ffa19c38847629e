"""Clients served while every backend of their app's PostgreSQL database is ended, again and again.

`backends_ended` ends them (``pg_terminate_backend``, every 50 ms) for a
block; `Told` tallies what the clients were told: saves answered as done,
504s (outcome unknown), and any answer no client should get (a plain 500,
a 503 without Retry-After, a connection dropped under a request).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

#: Between two rounds of ending every backend of the app's database.
KILL_EVERY = 0.05


@contextmanager
def backends_ended(admin_url: str, name: str, every: float = KILL_EVERY) -> Iterator[None]:
    """End every backend of database `name` (but the admin's) every `every` s while in the block."""
    import psycopg

    stop = threading.Event()

    def end() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            while not stop.wait(every):
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )

    ender = threading.Thread(target=end)
    ender.start()
    try:
        yield
    finally:
        stop.set()
        ender.join()


def keyed_orders(url: str, key: str) -> int:
    """How many rows of ``keyed_orders`` (the outage apps' table) at `url` hold `key`."""
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM keyed_orders WHERE request_key = %s", (key,)
        ).fetchone()
    assert found is not None
    return int(found[0])


def run_while_ended(admin_url: str, name: str, clients: list[threading.Thread]) -> None:
    """Run `clients` to their end while every backend of database `name` is ended, again."""
    with backends_ended(admin_url, name):
        for client in clients:
            client.start()
        for client in clients:
            client.join()


@dataclass
class Told:
    """What the clients were told; a save is a POST answered `saved_status`."""

    saved_status: int
    saved: int = 0
    unknown: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str, answer: httpx.Response) -> None:
        """A 5xx must be a 503 saying when to retry, or a 504: a problem (or its HTML page)."""
        with self.lock:
            self.statuses[f"{what} {answer.status_code}"] += 1
            if what == "POST" and answer.status_code == self.saved_status:
                self.saved += 1
            elif answer.status_code == 504:
                self.unknown += 1
            said = answer.headers.get("content-type", "").startswith(
                ("application/problem+json", "text/html")  # the problem, or its page
            )
            when = answer.status_code == 504 or "Retry-After" in answer.headers
            if answer.status_code >= 500 and not (
                answer.status_code in (503, 504) and said and when
            ):
                self.wrong.append(f"{what} {answer.status_code}: {answer.text[:200]}")

    def failed(self, what: str, error: Exception) -> None:
        """A request that got no answer (its connection dropped): its outcome is unknown."""
        with self.lock:
            self.statuses[f"{what} {type(error).__name__}"] += 1
            self.wrong.append(f"{what}: {error!r}")
            if what == "POST":
                self.unknown += 1

    def summary(self, final: int) -> str:
        return f"{dict(self.statuses)}, final count {final}, told saved {self.saved}"
