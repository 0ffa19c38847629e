"""The audit against pouchdb-server 4.2.0 (npm, in memory): the version is the body's ``_rev``."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.audit.independent import Api, mismatches, observe
from tests.audit.invoke import audit


@pytest.fixture
def database(pouchdb_server: str) -> str:
    """A fresh database of the server; its URL (the collection the audit POSTs to)."""
    url = f"{pouchdb_server}/audit-{uuid.uuid4().hex[:12]}"
    assert httpx.put(url, timeout=10).status_code == 201
    return url


def test_revisions_are_modelled_and_the_revisionless_delete_is_found(database: str) -> None:
    """Stale _rev refused (no false "overwrite"), DELETE without a revision deleted: as tested."""
    run = audit(database, "--json")
    assert run.code == 1, run.stdout + run.stderr
    assert run.verdicts() == {
        "etag": "warn",  # Express's weak content hash, not the revision
        "not-modified": "pass",
        "if-match": "pass",  # a stale _rev gets 409
        "precondition-required": "warn",  # no _rev: 409, not 428
        "delete": "fail",  # a stale or absent revision deletes all the same
        "lost-update": "pass",
        "idempotency-key": "fail",
        "unique": "skipped",
        "problem-json": "fail",
    }
    report = run.report()
    assert run.check("if-match")["data"]["version_members"] == ["_rev"]
    race = run.check("lost-update")["data"]
    assert race["lost"] == 0 < race["refused"]
    assert "overwrite" not in json.dumps(report)
    api = Api(database, member="_rev", delete_by_member=True)
    assert mismatches(report, observe(api), api) == []
    assert report["cleanup"]["left"] == []
    assert httpx.get(f"{database}/_all_docs", timeout=10).json()["rows"] == []
