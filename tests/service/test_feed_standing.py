"""An open change feed ends once its caller may no longer read: token revoked, right taken away.

A request is admitted once, as it arrives; the feed's stream goes on for
hours and a long-poll for up to a minute. Found by an adversarial run: a
reader whose token was revoked (new requests: 401), or whose read right a
collection's rules took away (new requests: 403), went on receiving every
change on a stream it had opened before, heartbeats keeping it open for
ever. Each test waits `RECHECK` after the revocation has taken effect
(the stream asks again at most that often) before writing what the
reader must not see.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest

from httpconflict.service.standing import RECHECK
from tests.servers import ServiceProcess, start_service
from tests.sse import events

from .auth_helpers import JSON, SECRET, bearer, create_token, token_cli

GRANTS = (
    *("--auth", "tokens", "--auth", "jwt", "--jwt-secret", SECRET, "--jwt-leeway", "0"),
    *("--grant", "read=role:reader", "--grant", "write=role:writer"),
    *("--grant", "admin=role:admin"),
)
#: Seconds a stream is given to end once its caller is refused (heartbeats every second).
ENDS_WITHIN = 5.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str, str]]:
    """The service (2 workers) on SQLite with token auth, its database, and an admin's token."""
    tmp = tmp_path_factory.mktemp("standing")
    db = str(tmp / "service.db")
    admin = create_token(db, "admin", "admin", "writer", "reader")
    with start_service(db, tmp, workers=2, extra=GRANTS) as service:
        yield service, db, admin


class Watcher:
    """A thread reading one stream: the ids of the documents changed, and whether it ended."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.ids: list[str] = []
        self.status: int | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "the stream did not open"

    def _read(self) -> None:
        headers = {**bearer(self.token), "Accept": "text/event-stream"}
        try:
            with httpx.stream("GET", self.url, headers=headers, timeout=30) as answer:
                self.status = answer.status_code
                self.opened.set()
                for event in events(answer):
                    if event.event == "change":
                        self.ids.append(event.data["id"])
        finally:
            self.opened.set()
            self.ended.set()


def _write(service: ServiceProcess, admin: str, collection: str, doc: str) -> None:
    answer = httpx.put(
        f"{service.url}/v1/{collection}/{doc}",
        content=b'{"n": 1}',
        headers={**JSON, **bearer(admin), "If-None-Match": "*"},
    )
    assert answer.status_code == 201, answer.text


def _wait_until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def _watching(service: ServiceProcess, admin: str, collection: str, token: str) -> Watcher:
    """A stream of `collection` read with `token`, once it has delivered a first change."""
    watcher = Watcher(f"{service.url}/v1/{collection}/_changes?heartbeat=1", token)
    assert watcher.status == 200
    _write(service, admin, collection, "before")
    _wait_until(lambda: watcher.ids == ["before"])
    return watcher


def _sends_nothing_more(
    service: ServiceProcess, admin: str, collection: str, watcher: Watcher, refusal: int
) -> None:
    """A new request of the watcher's caller gets `refusal`; the stream sends no later change."""
    feed = f"{service.url}/v1/{collection}/_changes"
    assert httpx.get(feed, headers=bearer(watcher.token)).status_code == refusal
    for doc in ("after-1", "after-2", "after-3"):
        _write(service, admin, collection, doc)
    assert watcher.ended.wait(ENDS_WITHIN), "the stream outlived its caller's admission"
    assert watcher.ids == ["before"]


def test_a_revoked_tokens_stream_ends_and_sends_nothing_more(
    served: tuple[ServiceProcess, str, str],
) -> None:
    """Token revoked: changes written after it are not sent, and the stream ends."""
    service, db, admin = served
    collection, name = f"rev{uuid.uuid4().hex[:6]}", f"rd-{uuid.uuid4().hex[:6]}"
    watcher = _watching(service, admin, collection, create_token(db, name, "reader"))
    done = token_cli(db, "revoke", name)
    assert done.returncode == 0, done.stderr
    time.sleep(RECHECK + 0.2)
    _sends_nothing_more(service, admin, collection, watcher, 401)


def test_an_expired_jwts_stream_ends_and_sends_nothing_more(
    served: tuple[ServiceProcess, str, str],
) -> None:
    """A JWT reaches its exp (no leeway): changes written after it are not sent; the stream ends."""
    service, _, admin = served
    collection = f"jwt{uuid.uuid4().hex[:6]}"
    expires = int(time.time()) + 3
    token = jwt.encode({"sub": "ann", "roles": ["reader"], "exp": expires}, SECRET, "HS256")
    watcher = _watching(service, admin, collection, token)
    time.sleep(max(expires + 1 - time.time(), 0) + RECHECK)
    _sends_nothing_more(service, admin, collection, watcher, 401)


def test_a_stream_whose_read_right_is_taken_away_ends(
    served: tuple[ServiceProcess, str, str],
) -> None:
    """The collection's rules stop granting read: nothing more is sent, and the stream ends."""
    service, db, admin = served
    collection = f"rules{uuid.uuid4().hex[:6]}"
    settings = f"{service.url}/v1/_collections/{collection}"

    def access(rules: dict[str, list[str]]) -> None:
        body = {"unique": [], "access": rules}
        answer = httpx.put(settings, json=body, headers={**JSON, **bearer(admin)})
        assert answer.status_code == 200, answer.text

    access({"read": ["role:staff"]})
    staff = create_token(db, f"st-{uuid.uuid4().hex[:6]}", "staff")
    watcher = _watching(service, admin, collection, staff)
    access({})
    # Every worker holds the new rules within a second; the stream asks again within RECHECK.
    time.sleep(1.0 + RECHECK + 0.2)
    _sends_nothing_more(service, admin, collection, watcher, 403)


def test_a_long_poll_whose_token_is_revoked_answers_nothing_more(
    served: tuple[ServiceProcess, str, str],
) -> None:
    """A long-poll waiting when its token is revoked answers no change written after that."""
    service, db, admin = served
    collection, name = f"poll{uuid.uuid4().hex[:6]}", f"lp-{uuid.uuid4().hex[:6]}"
    reader = create_token(db, name, "reader")
    feed = f"{service.url}/v1/{collection}/_changes"
    first = httpx.get(feed, headers={**bearer(reader), "Accept": "application/json"})
    assert first.status_code == 200
    since = first.json()["last_seq"]
    answered: list[httpx.Response] = []
    polling = threading.Thread(
        target=lambda: answered.append(
            httpx.get(
                f"{feed}?since={since}&wait=30",
                headers={**bearer(reader), "Accept": "application/json"},
                timeout=60,
            )
        )
    )
    polling.start()
    time.sleep(0.3)
    assert token_cli(db, "revoke", name).returncode == 0
    time.sleep(RECHECK + 0.2)
    _write(service, admin, collection, "after")
    polling.join(ENDS_WITHIN)
    assert answered, "the long-poll went on waiting"
    page = answered[0].json()
    assert page["results"] == []
    assert page["last_seq"] == since
