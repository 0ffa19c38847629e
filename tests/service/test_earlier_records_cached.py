"""A record an earlier release made is copied to the replay cache as it is recorded.

During a rolling upgrade old and new instances share the documents'
database and the replay cache. Records made by the earlier release hold
its fingerprint (method, target, caller and body); the new release
replays them to the request they record, comparing its own fingerprint
as if the record held it. The copy it then puts in the cache must hold
what the record holds: a copy under the new fingerprint made the next
resend of that same request to an old instance a 422 (its fingerprint
differs), where without the copy it was replayed.

The service runs on a SQLite file with a SQLite file as its replay cache
(both read here with sqlite3); the earlier release's record is made by
writing the earlier fingerprint into the record of a keyed PUT, and the
cache's copy is dropped, as a cache flushed or restarted loses it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from httpconflict._fingerprint import fingerprint
from tests.servers import start_service

JSON = {"content-type": "application/json"}
#: The key as the stores hold it (its value without the quotes of its structured form).
KEY = "k"


def _rows(path: Path, key: str) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT principal, fingerprint FROM idempotency_keys WHERE key = ?", (key,)
        ).fetchall()


def test_a_record_of_the_earlier_release_is_cached_under_its_own_fingerprint(
    tmp_path: Path,
) -> None:
    """The same request resent after a cache loss is replayed, and the copy holds the record's
    fingerprint (the earlier kind), which an old instance's resend still matches."""
    docs, cache = tmp_path / "docs.db", tmp_path / "keys.db"
    with (
        start_service(str(docs), tmp_path, extra=("--idempotency", str(cache))) as service,
        httpx.Client(base_url=service.url) as http,
    ):
        created = http.put("/v1/c/d", json={"n": 0}, headers={"if-none-match": "*"})
        assert created.status_code == 201
        body = b'{"n": 1}'
        headers = {**JSON, "if-match": created.headers["etag"], "idempotency-key": '"k"'}
        first = http.put("/v1/c/d", content=body, headers=headers)
        assert first.status_code == 200

        [(principal, now)] = _rows(docs, KEY)
        earlier = fingerprint("PUT", "/v1/c/d", principal, body)
        with sqlite3.connect(docs) as db:
            db.execute("UPDATE idempotency_keys SET fingerprint = ? WHERE key = ?", (earlier, KEY))
        with sqlite3.connect(cache) as db:
            db.execute("DELETE FROM idempotency_keys")

        again = http.put("/v1/c/d", content=body, headers=headers)
        assert (again.status_code, again.headers.get("idempotent-replayed")) == (200, "true")
        assert again.content == first.content
        # The cache names the database in its principal: only the fingerprint is compared.
        [(_, copied)] = _rows(cache, KEY)
        assert (copied, copied != now) == (earlier, True)
        assert http.get("/v1/c/d").json() == {"n": 1}
