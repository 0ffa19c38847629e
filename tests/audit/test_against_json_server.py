"""The audit against json-server 0.17.4 (npm), run as a real server: it finds the flaws."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.audit.invoke import audit


def test_json_server_loses_updates(json_server: tuple[str, Path]) -> None:
    """Weak ETags, If-Match ignored, blind writes, keys ignored: lost updates counted, exit 1."""
    url, _ = json_server
    run = audit(f"{url}/notes", "--unique", "email", "--json")
    assert run.code == 1, run.stdout + run.stderr
    assert run.verdicts() == {
        "etag": "warn",  # Express's weak ETags: stable, but never usable in If-Match
        "not-modified": "pass",  # Express answers If-None-Match itself
        "if-match": "fail",
        "precondition-required": "fail",
        "delete": "fail",
        "lost-update": "fail",
        "idempotency-key": "fail",
        "unique": "fail",
        "problem-json": "fail",
    }
    assert run.check("etag")["data"]["weak"] is True
    race = run.check("lost-update")["data"]
    assert race["careful"] is True
    assert race["acknowledged"] == race["writers"] * race["rounds"]
    assert race["lost"] > 0
    assert race["lost"] == race["acknowledged"] - race["final"]
    keys = run.check("idempotency-key")["data"]
    assert keys["created_with_key"] == keys["duplicates"] == 3
    assert run.check("unique")["data"]["status"] == 201
    report = run.report()
    assert report["score"] == 8  # half of the ETag check's 5, all of the 304 check's 5
    assert report["cleanup"]["left"] == []
    # Everything the audit created is gone (json-server writes db.json a little later).
    assert httpx.get(f"{url}/notes", timeout=10).json() == []
