"""Erasure through the real service: purging deletes, the scheduled purge (SQLite, PostgreSQL)."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import ServiceProcess, start_service

JSON = {"content-type": "application/json"}
PERSONAL = '{"ssn": "078-05-1120"}'


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


def _with_history(http: httpx.Client, url: str) -> str:
    """A document with two versions, both holding the secret; its current ETag."""
    created = http.put(url, content=PERSONAL, headers={**JSON, "If-None-Match": "*"})
    assert created.status_code == 201
    body = '{"ssn": "078-05-1120", "n": 2}'
    replaced = http.put(url, content=body, headers={**JSON, "If-Match": created.headers["etag"]})
    assert replaced.status_code == 200
    return str(replaced.headers["etag"])


def _every_read(http: httpx.Client, url: str, etag: str) -> list[httpx.Response]:
    """Every request that could show a document or its past, at `url`."""
    return [
        http.get(url),
        http.head(url),
        http.get(url + "/versions"),
        http.get(url + "/versions?before=3&limit=1"),
        http.put(url, content='{"n": 3}', headers={**JSON, "If-Match": etag}),
        http.patch(
            url,
            content='{"n": 3}',
            headers={
                "content-type": "application/merge-patch+json",
                "If-Match": etag,
                "Prefer": "rebase",
            },
        ),
        http.delete(url, headers={"If-Match": etag}),
    ]


def _same_answers(purged: list[httpx.Response], never: list[httpx.Response], id: str) -> None:
    for after, fresh in zip(purged, never, strict=True):
        assert after.status_code == fresh.status_code, after.text
        assert "ssn" not in after.text
        assert "078-05-1120" not in after.text
        assert "etag" not in after.headers
        body = after.text.replace(id, "ID")
        assert body == fresh.text.replace(fresh.url.path.split("/")[3], "ID")


def test_a_purged_document_reads_as_never_created(http: httpx.Client) -> None:
    """After DELETE ?purge=true every endpoint answers as for a document never created."""
    id, never = uuid.uuid4().hex, uuid.uuid4().hex
    url = f"/v1/people/{id}"
    etag = _with_history(http, url)
    assert http.get(url + "/versions").json()["items"]
    deleted = http.delete(url + "?purge=true", headers={"If-Match": etag})
    assert deleted.status_code == 204
    _same_answers(_every_read(http, url, etag), _every_read(http, f"/v1/people/{never}", etag), id)
    listed = http.get("/v1/people?limit=1000").text
    assert id not in listed
    assert_problem(http.delete(url + "?purge=true"), 404, "not-found")


def test_a_stale_purge_erases_nothing(http: httpx.Client) -> None:
    """A purging delete whose If-Match is stale is a 412 that leaves the history."""
    url = f"/v1/people/{uuid.uuid4().hex}"
    _with_history(http, url)
    stale = http.delete(url + "?purge=true", headers={"If-Match": '"stale"'})
    assert_problem(stale, 412, "precondition-failed")
    assert len(http.get(url + "/versions").json()["items"]) == 2


def test_purging_a_deleted_document_erases_its_history(http: httpx.Client) -> None:
    """DELETE ?purge=true on a document already deleted erases the history its tombstone kept."""
    url = f"/v1/people/{uuid.uuid4().hex}"
    etag = _with_history(http, url)
    assert http.delete(url, headers={"If-Match": etag}).status_code == 204
    assert "078-05-1120" in http.get(url + "/versions").text
    assert http.delete(url + "?purge=true").status_code == 204
    assert_problem(http.get(url + "/versions"), 404, "not-found")


def test_a_document_created_again_after_a_purge_has_new_versions(http: httpx.Client) -> None:
    """A document created again at a purged URL shows none of the past; numbers never repeat."""
    url = f"/v1/people/{uuid.uuid4().hex}"
    etag = _with_history(http, url)
    assert http.delete(url + "?purge=true", headers={"If-Match": etag}).status_code == 204
    again = http.put(url, content='{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    assert again.status_code == 201
    items = http.get(url + "/versions").json()["items"]
    assert [item["version"] for item in items] == [4]
    assert "ssn" not in http.get(url + "/versions").text


def test_a_bad_purge_value_is_a_400(http: httpx.Client) -> None:
    """?purge= takes true or false only: anything else is a 400 naming the parameter."""
    answer = http.delete(f"/v1/people/{uuid.uuid4().hex}?purge=yes", headers={"If-Match": '"x"'})
    assert_problem(answer, 400, "invalid-parameter")
    assert answer.json()["parameter"] == "purge"


def test_a_collection_may_purge_on_every_delete(http: httpx.Client) -> None:
    """With {"purge_on_delete": true} in its settings, a plain delete there purges."""
    collection = f"c{uuid.uuid4().hex[:12]}"
    settings = f"/v1/_collections/{collection}"
    put = http.put(settings, json={"unique": [], "purge_on_delete": True})
    assert put.status_code == 200, put.text
    assert put.json() == {"collection": collection, "unique": [], "purge_on_delete": True}
    assert http.get(settings).json()["purge_on_delete"] is True
    url = f"/v1/{collection}/{uuid.uuid4().hex}"
    etag = _with_history(http, url)
    assert http.delete(url + "?purge=false", headers={"If-Match": etag}).status_code == 204
    assert_problem(http.get(url + "/versions"), 404, "not-found")
    # Turned off again: a plain delete keeps the history.
    off = http.put(settings, json={"unique": []})
    assert off.json() == {"collection": collection, "unique": []}
    url = f"/v1/{collection}/{uuid.uuid4().hex}"
    etag = _with_history(http, url)
    assert http.delete(url, headers={"If-Match": etag}).status_code == 204
    assert len(http.get(url + "/versions").json()["items"]) == 3


def test_purge_on_delete_is_a_boolean(http: httpx.Client) -> None:
    """A "purge_on_delete" that is not true or false is a 422 naming the member."""
    answer = http.put("/v1/_collections/people", json={"unique": [], "purge_on_delete": "yes"})
    assert_problem(answer, 422, "invalid-document")
    assert answer.json()["member"] == "purge_on_delete"


# --- the schedule ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def purging_service(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, Callable[[str], int]]]:
    """A service purging every 0.2 s, tombstones after 1 s, keys replayed for 1 s.

    With a function counting the rows of a table of its database.
    """
    extra = (
        "--purge-interval=0.2",
        "--tombstone-retention=1",
        "--idempotency-retention=1",
    )
    if request.param == "sqlite":
        db = str(tmp_path / "purged.db")

        def count(table: str) -> int:
            with sqlite3.connect(db) as conn:
                return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        with start_service(db, tmp_path, extra=extra) as service:
            yield service, count
    else:
        import psycopg

        db = request.getfixturevalue("postgres_schema")

        def count(table: str) -> int:
            with psycopg.connect(db) as conn:
                row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                assert row is not None
                return int(row[0])

        with start_service(db, tmp_path, extra=extra) as service:
            yield service, count


def _eventually(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_tombstones_and_expired_keys_disappear_on_schedule(
    purging_service: tuple[ServiceProcess, Callable[[str], int]],
) -> None:
    """Old tombstones (with their history) and expired keys are purged by the schedule alone."""
    service, count = purging_service
    with service.client() as http:
        url = f"/v1/people/{uuid.uuid4().hex}"
        etag = _with_history(http, url)
        keyed = http.post(
            "/v1/people", content='{"n": 1}', headers={**JSON, "Idempotency-Key": "k1"}
        )
        assert keyed.status_code == 201
        assert http.delete(url, headers={"If-Match": etag}).status_code == 204
        assert "078-05-1120" in http.get(url + "/versions").text
        assert count("idempotency_keys") == 1
        assert _eventually(lambda: count("idempotency_keys") == 0)
        assert _eventually(lambda: http.get(url + "/versions").status_code == 404)
        assert count("documents") == 1  # the keyed POST's document, alive
        assert count("document_versions") == 1
    log = service.log_path.read_text()
    assert "purge: 1 tombstone(s)" in log
    assert "1 expired idempotency key(s)" in log
