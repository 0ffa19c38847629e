"""The client against a server that answers conflicts as CouchDB does: 409, not 412.

CouchDB's document API (modelled here on 127.0.0.1, over real HTTP: no
CouchDB runs on this machine; pouchdb-server's ETags are weak, see
tests/audit/test_client_against_pouchdb_server.py): a GET's ETag is the
document's revision, ``"N-hash"``, also in its ``_rev`` member; PATCH is
not a method (405); a PUT names the revision it replaces in If-Match (or
``_rev``) and is answered ``201 {"ok": true, "id", "rev"}``, or, made from
an old revision, ``409 {"error": "conflict", "reason": "Document update
conflict."}``. The client gave up on the first such 409 (RequestRefused):
of 4 clients x 5 increments, only those that met no conflict landed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    RequestRefused,
    RetryPolicy,
)
from tests.client.counting import count_updates, increment

POLICY = RetryPolicy(budget=20.0, cap=0.2)


class Couch(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.docs: dict[str, dict[str, Any]] = {}
        self.conflicts = 0
        #: When set, every PUT is answered 409 with this body.
        self.refuse: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Couch
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any], etag: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if etag is not None:
            self.send_header("ETag", f'"{etag}"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        with self.server.lock:
            doc = self.server.docs.get(self.path)
        if doc is None:
            self._answer(404, {"error": "not_found", "reason": "missing"})
        else:
            self._answer(200, doc, doc["_rev"])

    def do_PATCH(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(405, {"error": "method_not_allowed", "reason": "Only GET,HEAD,PUT,..."})

    def do_PUT(self) -> None:
        new = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        rev = (self.headers.get("If-Match") or "").strip('"') or new.get("_rev")
        if self.server.refuse is not None:
            self._answer(409, self.server.refuse)
            return
        with self.server.lock:
            doc = self.server.docs.get(self.path)
            if (doc["_rev"] if doc else None) != rev:
                self.server.conflicts += 1
                self._answer(409, {"error": "conflict", "reason": "Document update conflict."})
                return
            number = int(rev.split("-")[0]) + 1 if rev else 1
            text = json.dumps(new, sort_keys=True).encode()
            new["_rev"] = f"{number}-{hashlib.md5(text).hexdigest()}"  # noqa: S324 (as CouchDB)
            self.server.docs[self.path] = new
        self._answer(201, {"ok": True, "id": self.path[1:], "rev": new["_rev"]}, new["_rev"])


@pytest.fixture
def couch() -> Iterator[Couch]:
    server = Couch()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=server.url) as http:
            assert http.put("/c", json={"n": 0}).status_code == 201
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_concurrent_increments_through_couchdb_409s_all_land(couch: Couch, flavour: str) -> None:
    """4 clients x 5 increments: every one lands, final == successes, through 409s."""
    ok, errors = count_updates(flavour, couch.url, "/c", clients=4, updates=5, policy=POLICY)
    assert (ok, errors) == (20, [])
    assert couch.docs["/c"]["n"] == 20
    assert couch.conflicts > 0  # the clients did meet 409s


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_409_with_the_revision_unmoved_is_refused_at_once(couch: Couch, flavour: str) -> None:
    """Every write refused 409 (a name taken, say), the revision unmoved: one read, the 409."""
    couch.refuse = {"error": "conflict", "reason": "name taken"}
    with pytest.raises(RequestRefused) as raised:
        update(flavour, couch.url, "/c")
    assert (raised.value.status, raised.value.attempts) == (409, 2)
    assert "not with a newer version" in str(raised.value)
    assert raised.value.response is not None
    assert raised.value.response.json()["reason"] == "name taken"
    assert couch.docs["/c"]["n"] == 0


def update(flavour: str, base: str, path: str) -> None:
    if flavour == "sync":
        with httpx.Client(base_url=base) as http:
            ConflictClient(http, policy=POLICY).update(path, increment)
    else:
        asyncio.run(async_update(base, path))


async def async_update(base: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        await AsyncConflictClient(http, policy=POLICY).update(path, increment)
