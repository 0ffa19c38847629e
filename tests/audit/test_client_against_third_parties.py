"""`ConflictClient.update` against real servers that give no strong ETag: refused at the read.

pouchdb-server and json-server (Express) tag answers with weak content
hashes, which no If-Match matches; the DRF + django-concurrency project
sends no ETag at all (its version is a body member). `update` cannot make
its write conditional, so it writes nothing and says so: the error names
the weak ETag, or its absence, and what the server would need.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from httpconflict.httpx import ConflictClient, UnusableAnswer


def increment(doc: dict[str, object]) -> dict[str, object]:
    return {**doc, "n": 1}


def test_pouchdb_servers_weak_etag_is_named(pouchdb_server: str) -> None:
    database = f"{pouchdb_server}/client-{uuid.uuid4().hex[:12]}"
    with httpx.Client(timeout=10) as http:
        assert http.put(database).status_code == 201
        assert http.put(f"{database}/c", json={"n": 0}).status_code == 201
        with pytest.raises(UnusableAnswer) as raised:
            ConflictClient(http).update(f"{database}/c", increment)
        assert http.get(f"{database}/c").json()["n"] == 0
        http.delete(database)
    said = str(raised.value)
    assert raised.value.attempts == 1
    assert 'came with the weak ETag W/"' in said
    assert "the server must give strong ETags" in said


def test_json_servers_weak_etag_is_named(json_server: tuple[str, Path]) -> None:
    base, _ = json_server
    with httpx.Client(base_url=base, timeout=10) as http:
        created = http.post("/notes", json={"n": 0}).json()
        with pytest.raises(UnusableAnswer, match="came with the weak ETag W/"):
            ConflictClient(http).update(f"/notes/{created['id']}", increment)
        assert http.get(f"/notes/{created['id']}").json()["n"] == 0


def test_drf_without_etags_is_named(drf_api: str) -> None:
    with httpx.Client(base_url=drf_api, timeout=10) as http:
        created = http.post("/notes/", json={"title": "t", "count": 0}).json()
        url = f"/notes/{created['id']}/"
        with pytest.raises(UnusableAnswer, match="came without an ETag"):
            ConflictClient(http).update(url, lambda doc: {**doc, "count": 1})
        assert http.get(url).json()["count"] == 0
