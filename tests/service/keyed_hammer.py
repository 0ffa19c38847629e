"""Many clients sending keyed POSTs and retrying them until answered: a count of duplicates.

Each of `clients` threads takes the next of `posts` keys and sends POST
/v1/{c} with that Idempotency-Key, then sends the very same request again
after a transport error, a 5xx or a 409 in flight (waiting Retry-After),
until it gets a 201 (its own or a replay) or the deadline passes. Then the
collection is listed and its documents counted per key: exactly-once means
one document per key, none missing and none doubled.

The body names its key only so that documents can be counted per key; this
counts duplicates, it is not a lost-update hammer (where DESIGN.md forbids
writer ids in bodies).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from httpconflict._problem import PROBLEM_TYPE_BASE

JSON = {"content-type": "application/json"}
#: The wait before sending again when an answer names none (a 500, a dropped connection).
DEFAULT_WAIT = 0.2


@dataclass
class Tally:
    """What the clients saw, and what the collection holds afterwards."""

    posts: int
    answers: Counter[int] = field(default_factory=Counter)
    replays: int = 0
    transport_errors: int = 0
    #: Answers that break the contract (a 503 without Retry-After, a 409 other than in flight...).
    unexpected: list[str] = field(default_factory=list)
    #: Keys that got no 201 before the deadline.
    unfinished: int = 0
    #: Documents per key, from listing the collection.
    documents: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def duplicated(self) -> int:
        """Keys with more than one document: requests that ran twice."""
        return sum(n > 1 for n in self.documents.values())

    @property
    def missing(self) -> int:
        return self.posts - len(self.documents)

    def summary(self) -> str:
        statuses = ", ".join(f"{n} x {s}" for s, n in sorted(self.answers.items()))
        return (
            f"{self.posts} keys in {self.seconds:.1f} s: {statuses}; {self.replays} replays, "
            f"{self.transport_errors} transport errors; {self.duplicated} keys ran twice or "
            f"more, {self.missing} keys have no document, {self.unfinished} unfinished; "
            f"{len(self.unexpected)} unexpected answers {self.unexpected[:3]}"
        )


class Hammer:
    """`clients` threads working through `posts` keyed POSTs to `url`/v1/`collection`."""

    def __init__(
        self, url: str, *, posts: int = 2000, clients: int = 16, deadline: float = 60.0
    ) -> None:
        self.url = url
        self.collection = f"keyed-{uuid.uuid4().hex[:12]}"
        self.keys = [uuid.uuid4().hex for _ in range(posts)]
        self.clients = clients
        self.deadline = deadline
        self.tally = Tally(posts)
        self._next = 0
        self._finished = 0
        self._lock = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        for n in range(self.clients):
            thread = threading.Thread(target=self._client, name=f"hammer-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wait_until_finished(self, keys: int) -> None:
        """Block until `keys` keys have their 201 (or the run is over)."""
        with self._lock:
            self._lock.wait_for(
                lambda: self._finished >= keys or not any(t.is_alive() for t in self._threads),
                timeout=self.deadline,
            )

    def finished(self) -> bool:
        """Whether every client is done: no more requests will be sent."""
        return not any(thread.is_alive() for thread in self._threads)

    def join(self) -> Tally:
        """Wait for every client, then count the collection's documents per key."""
        for thread in self._threads:
            thread.join()
        self.tally.seconds = time.monotonic() - self._started
        self.tally.unfinished = len(self.keys) - self._finished
        with httpx.Client(base_url=self.url, timeout=30) as client:
            page: str | None = f"/v1/{self.collection}?limit=1000"
            while page is not None:
                answer = client.get(page)
                answer.raise_for_status()
                listing = answer.json()
                for item in listing["items"]:
                    self.tally.documents[item["document"]["key"]] += 1
                page = listing["next"]
        return self.tally

    def _take(self) -> str | None:
        with self._lock:
            if self._next == len(self.keys):
                return None
            self._next += 1
            return self.keys[self._next - 1]

    def _client(self) -> None:
        end = self._started + self.deadline
        # Longer than any answer may take, so a client never gives up on a
        # request still running and sends it again meanwhile.
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while (key := self._take()) is not None:
                if self._send_until_answered(client, key, end):
                    with self._lock:
                        self._finished += 1
                        self._lock.notify_all()

    def _send_until_answered(self, client: httpx.Client, key: str, end: float) -> bool:
        body = json.dumps({"key": key}).encode()
        headers = {**JSON, "Idempotency-Key": f'"{key}"'}
        while time.monotonic() < end:
            try:
                answer = client.post(f"/v1/{self.collection}", content=body, headers=headers)
            except httpx.TransportError as error:
                with self._lock:
                    self.tally.transport_errors += 1
                    self.tally.unexpected.append(f"transport error {error!r}")
                time.sleep(DEFAULT_WAIT)
                continue
            verdict = self._note(answer)
            if verdict == "done":
                return True
            if verdict == "stop":
                return False
            time.sleep(_wait(answer))
        return False

    def _note(self, answer: httpx.Response) -> str:
        """Count an answer; "done" (a 201), "again" (send it again) or "stop" (give up)."""
        status = answer.status_code
        problem = _problem_type(answer)
        with self._lock:
            self.tally.answers[status] += 1
            if status == 201:
                self.tally.replays += answer.headers.get("idempotent-replayed") == "true"
                return "done"
            if status == 503 and ("retry-after" not in answer.headers or problem != "unavailable"):
                self.tally.unexpected.append(f"503 {problem} without Retry-After: {answer.text}")
            if status >= 500:
                return "again"
            if status == 409 and problem == "idempotency-key-in-flight":
                return "again"
            self.tally.unexpected.append(f"{status} {answer.text[:200]}")
            return "stop"


def _problem_type(answer: httpx.Response) -> str | None:
    if answer.headers.get("content-type") != "application/problem+json":
        return None
    kind: str = answer.json().get("type", "")
    return kind.removeprefix(PROBLEM_TYPE_BASE)


def _wait(answer: httpx.Response) -> float:
    try:
        return float(answer.headers["retry-after"])
    except (KeyError, ValueError):
        return DEFAULT_WAIT
