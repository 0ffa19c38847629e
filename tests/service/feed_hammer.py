"""Pure-counter writers and reconnecting watchers of the change feed, for the fault tests.

Writers: each reads a counter document (GET n) and writes n + 1 with
If-Match, retrying a 412 with a fresh read; a write whose answer is lost
(a 5xx, a dropped connection, an instance killed) is sent again with the
same Idempotency-Key, to any instance, until it has a definitive answer:
a 200 (the write, made once, or its recorded answer replayed) counts, a
412 means it was never made. So the counters must end equal to the 200s.

Watchers: each follows the collection's event stream, from a seq taken
before the first document was created, and reconnects (to the next
instance) after any failure with the Last-Event-ID it last saw. Every
change event is kept: exactly once and in commit order means, per
watcher, strictly increasing seqs and each document's versions 1..final
with no gap and no repeat.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import cycle

import httpx

from tests.sse import events

JSON = {"content-type": "application/json"}
STREAM = {"accept": "text/event-stream"}


@dataclass
class Writers:
    """`count` writers incrementing `docs` counters through `urls` until `total` increments."""

    urls: list[str]
    collection: str
    docs: list[str]
    count: int
    total: int
    successes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)
    dead: set[str] = field(default_factory=set)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for n in range(self.count):
            thread = threading.Thread(target=self._writer, args=(n,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), f"writers stuck: {self.errors[-5:]}"

    def _urls(self, n: int) -> list[str]:
        alive = [u for u in self.urls if u not in self.dead] or self.urls
        return alive[n % len(alive) :] + alive[: n % len(alive)]

    def _done(self) -> bool:
        with self.lock:
            return self.successes >= self.total

    def _writer(self, n: int) -> None:
        clients = {url: httpx.Client(base_url=url, timeout=10) for url in self.urls}
        try:
            while not self._done():
                doc = random.choice(self.docs)
                if self._increment(clients, n, f"/v1/{self.collection}/{doc}"):
                    with self.lock:
                        self.successes += 1
        finally:
            for client in clients.values():
                client.close()

    def _increment(self, clients: dict[str, httpx.Client], n: int, path: str) -> bool:
        """One read-then-write; whether it wrote (False: a 412, read again)."""
        read = self._send(clients, n, "GET", path, {}, None)
        if read.status_code != 200:
            return False
        value = read.json()["n"]
        headers = {**JSON, "If-Match": read.headers["etag"], "Idempotency-Key": str(uuid.uuid4())}
        answer = self._send(clients, n, "PUT", path, headers, json.dumps({"n": value + 1}))
        if answer.status_code == 412:
            return False
        assert answer.status_code == 200, answer.text
        return True

    def _send(
        self,
        clients: dict[str, httpx.Client],
        n: int,
        method: str,
        path: str,
        headers: dict[str, str],
        body: str | None,
    ) -> httpx.Response:
        """The request's first definitive answer, sent again (same key) after 5xx or no answer."""
        deadline = time.monotonic() + 60
        while True:
            for url in self._urls(n):
                try:
                    answer = clients[url].request(method, path, headers=headers, content=body)
                except httpx.TransportError as error:
                    self.errors.append(f"{method} {url}: {error!r}")
                    if isinstance(error, httpx.ConnectError):
                        self.dead.add(url)
                    continue
                if answer.status_code < 500 and answer.status_code != 409:
                    return answer
                self.errors.append(f"{method} {url}: {answer.status_code}")
            assert time.monotonic() < deadline, f"no answer for a minute: {self.errors[-5:]}"
            time.sleep(0.05 + random.random() * 0.1)


@dataclass
class Watcher:
    """Follows a collection's event stream through `urls` (first: `urls[0]`), reconnecting."""

    urls: list[str]
    collection: str
    since: int
    changes: list[dict[str, object]] = field(default_factory=list)
    reconnects: int = 0
    last_id: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    connected: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    failures: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(10)

    def versions(self) -> dict[str, list[int]]:
        seen: dict[str, list[int]] = defaultdict(list)
        for change in list(self.changes):
            seen[str(change["id"])].append(int(str(change["version"])))
        return seen

    def _run(self) -> None:
        params = {"since": str(self.since), "heartbeat": "1"}
        for url in cycle(self.urls):
            if self.stop.is_set():
                return
            headers = dict(STREAM)
            if self.last_id is not None:
                headers["last-event-id"] = self.last_id
            try:
                with (
                    httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=5)) as client,
                    client.stream(
                        "GET", f"/v1/{self.collection}/_changes", params=params, headers=headers
                    ) as answer,
                ):
                    if answer.status_code != 200:
                        self.failures.append(f"{url}: {answer.status_code}")
                        time.sleep(0.2)
                        continue
                    self.connected.set()
                    for event in events(answer):
                        if event.event == "change":
                            self.changes.append(event.data)
                        self.last_id = event.id
                        if self.stop.is_set():
                            return
            except httpx.HTTPError as error:
                self.failures.append(f"{url}: {error!r}")
            self.reconnects += 1
            time.sleep(0.05)


def check_exactly_once(watcher: Watcher, finals: dict[str, int]) -> None:
    """Every committed change once, in commit order: seqs increasing, versions 1..final."""
    seqs = [int(str(c["seq"])) for c in watcher.changes]
    assert seqs == sorted(set(seqs)), "a seq repeated or out of order"
    versions = watcher.versions()
    for doc, final in finals.items():
        assert versions[doc] == list(range(1, final + 1)), (doc, versions[doc][-5:], final)


def wait_for_finals(watchers: list[Watcher], finals: dict[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for watcher in watchers:
        while any(
            (watcher.versions().get(doc) or [0])[-1] < final for doc, final in finals.items()
        ):
            assert time.monotonic() < deadline, f"a watcher missed changes: {watcher.failures[-5:]}"
            time.sleep(0.05)
