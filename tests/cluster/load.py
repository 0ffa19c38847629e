"""The clients that load the cluster, and the record of every exchange they had.

- Counter clients, pure counters: read the counter, PUT ``{"n": n + 1}``
  with If-Match and a fresh Idempotency-Key; an answer that is lost (no
  answer, or a 5xx) or a 409 in flight sends the very same PUT again, with
  the same key, until an answer says what became of it: a 2xx (fresh or
  replayed) is one increment, a 412 sends it back to read. Nothing of the
  client's own is in the body, so the invariant is exact: the final count
  is the number of 2xx answers. `careful=False` is the naive client: a
  new key on each resend, so a resend of a write that was applied is
  refused (412) instead of replayed, and that increment is made again.
- Creators: `ConflictClient.create` POSTs a document with an
  Idempotency-Key, resent with that key after a lost answer: each key
  makes exactly one document.
- Watchers: `ConflictClient.watch` follows a collection's change feed from
  its start, reconnecting (with Last-Event-ID) through any instance,
  until it sees the document named `LAST` change: every seq it got, in
  the order it got them.

Every request goes through a `Recording` transport, which notes when it
was sent, when its answer (or error) came, its status and the server
haproxy says answered it (``X-Served-By``): the test classifies every 5xx
by time and server.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from httpconflict.httpx import ConflictClient, RetryPolicy

#: Seconds a client waits for an answer: longer than haproxy waits for a server.
TIMEOUT = 20.0
#: An increment whose outcome no answer told after this long fails the test.
RESOLVE_WITHIN = 40.0


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (status None: no answer came)."""

    method: str
    path: str
    sent: float
    answered: float
    status: int | None
    served_by: str
    retry_after: str | None
    #: The answer is a problem (the service's own; haproxy's are HTML).
    problem: bool = False
    error: str | None = None
    #: Its X-Request-ID, which haproxy's log names.
    request_id: str = ""

    def __str__(self) -> str:
        what = self.status if self.error is None else self.error
        return (
            f"{self.method} {self.path} -> {what} by {self.served_by or '?'} "
            f"sent at {self.sent:.2f}, answered at {self.answered:.2f}"
        )


class Recording(httpx.BaseTransport):
    """An HTTP transport that notes every exchange in `exchanges`."""

    def __init__(self, exchanges: list[Exchange]) -> None:
        self._inner = httpx.HTTPTransport()
        self._exchanges = exchanges

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["X-Request-ID"] = uuid.uuid4().hex
        sent = time.monotonic()
        try:
            response = self._inner.handle_request(request)
            if "text/event-stream" not in request.headers.get("accept", ""):
                response.read()  # a change feed's stream is read by its watcher
        except httpx.TransportError as error:
            self._note(request, sent, None, "", None, error=type(error).__name__)
            raise
        served_by = response.headers.get("x-served-by", "")
        self._note(request, sent, response.status_code, served_by, response.headers)
        return response

    def _note(
        self,
        request: httpx.Request,
        sent: float,
        status: int | None,
        served_by: str,
        headers: httpx.Headers | None,
        error: str | None = None,
    ) -> None:
        retry_after = None if headers is None else headers.get("retry-after")
        problem = headers is not None and "problem+json" in headers.get("content-type", "")
        self._exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                sent,
                time.monotonic(),
                status,
                served_by,
                retry_after,
                problem,
                error,
                request.headers["X-Request-ID"],
            )
        )

    def close(self) -> None:
        self._inner.close()


def client(url: str, exchanges: list[Exchange]) -> httpx.Client:
    return httpx.Client(base_url=url, transport=Recording(exchanges), timeout=TIMEOUT)


@dataclass
class Tally:
    """What the clients saw, shared by their threads (list.append is atomic)."""

    exchanges: list[Exchange] = field(default_factory=list)
    #: One entry per 2xx answer to an increment (fresh or replayed).
    increments: list[int] = field(default_factory=list)
    #: Increments resent after a lost answer whose replay said they applied.
    replayed: list[int] = field(default_factory=list)
    #: Keys whose POST was answered 2xx.
    created: list[str] = field(default_factory=list)
    #: Each watcher's collection and the seqs it was given, in order.
    watched: list[tuple[str, list[int]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _wait(answer: httpx.Response | None, tries: int) -> float:
    """After a lost answer or a refusal: Retry-After if given, else jittered backoff."""
    if answer is not None and (retry_after := answer.headers.get("retry-after")):
        return float(retry_after) + random.uniform(0, 0.5)
    return random.uniform(0, min(0.05 * 2**tries, 1.0))


def _send(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    content: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response | None:
    try:
        return http.request(method, url, content=content, headers=headers)
    except httpx.TransportError:
        return None


def increment_until(
    url: str, counter: str, stop: threading.Event, tally: Tally, *, careful: bool = True
) -> None:
    """Increment `counter` until `stop` is set, each increment resolved before the next."""
    with client(url, tally.exchanges) as http:
        while not stop.is_set():
            if not _increment(http, counter, tally, careful=careful):
                return


def _increment(http: httpx.Client, counter: str, tally: Tally, *, careful: bool) -> bool:
    """One increment, retried until it lands; False when it could not be resolved."""
    began = time.monotonic()
    tries = 0
    while time.monotonic() - began < RESOLVE_WITHIN:
        read = _send(http, "GET", counter)
        if read is None or read.status_code != 200:
            tries += 1
            time.sleep(_wait(read, tries))
            continue
        n = read.json()["n"]
        headers = {
            "content-type": "application/json",
            "If-Match": read.headers["etag"],
            "Idempotency-Key": uuid.uuid4().hex,
        }
        lost = False
        while time.monotonic() - began < RESOLVE_WITHIN:
            answer = _send(http, "PUT", counter, content=f'{{"n": {n + 1}}}', headers=headers)
            status = None if answer is None else answer.status_code
            if status is not None and 200 <= status < 300:
                tally.increments.append(n + 1)
                if lost and answer is not None and answer.headers.get("idempotent-replayed"):
                    tally.replayed.append(n + 1)
                return True
            if status == 412:
                break  # another client's increment came first: read again
            problem = "" if answer is None else answer.headers.get("content-type", "")
            in_flight = status == 409 and "problem" in problem
            if status is None or status >= 500 or in_flight:
                lost = lost or status != 409
                tries += 1
                if not careful:
                    headers["Idempotency-Key"] = uuid.uuid4().hex  # the naive resend
                time.sleep(_wait(answer, tries))
                continue
            tally.failures.append(f"PUT {counter}: {status} {answer.text if answer else ''}")
            return False
        tries += 1
        time.sleep(_wait(None, tries))
    tally.failures.append(f"an increment of {counter} unresolved after {RESOLVE_WITHIN:g} s")
    return False


def create_until(
    url: str, collection: str, stop: threading.Event, tally: Tally, *, careful: bool = True
) -> None:
    """POST documents until `stop`: each with ConflictClient.create (a key, resent with it).

    `careful=False`: the naive client, which sends a new key with each resend.
    """
    policy = RetryPolicy(budget=RESOLVE_WITHIN, attempts=200, cap=1.0)
    with client(url, tally.exchanges) as http, ConflictClient(http, policy=policy) as documents:
        while not stop.is_set():
            key = uuid.uuid4().hex
            try:
                if careful:
                    documents.create(collection, {"key": key}, key=key)
                else:
                    _create_naively(http, collection, key)
            except Exception as error:  # any failure to create is the test's failure
                tally.failures.append(f"POST {collection} with key {key}: {error}")
                return
            tally.created.append(key)


def _create_naively(http: httpx.Client, collection: str, key: str) -> None:
    began = time.monotonic()
    for tries in range(1, 1000):
        headers = {"content-type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        answer = _send(http, "POST", collection, content=f'{{"key": "{key}"}}', headers=headers)
        if answer is not None and answer.status_code == 201:
            return
        if time.monotonic() - began > RESOLVE_WITHIN:
            break
        time.sleep(_wait(answer, tries))
    raise RuntimeError(f"not created in {RESOLVE_WITHIN:g} s")


#: The document whose change tells watchers that nothing follows.
LAST = "last"


def watch_until_last(url: str, collection: str, tally: Tally) -> None:
    """Every change of `collection` from the first, until `LAST` changes."""
    seqs: list[int] = []
    tally.watched.append((collection, seqs))
    policy = RetryPolicy(budget=RESOLVE_WITHIN, attempts=1000, cap=1.0)
    with client(url, tally.exchanges) as http, ConflictClient(http, policy=policy) as feed:
        try:
            for change in feed.watch(collection, since=0, heartbeat=2):
                seqs.append(change.seq)
                if change.id == LAST:
                    return
        except Exception as error:  # any failure to follow the feed is the test's failure
            tally.failures.append(f"watching {collection}: {error}")
