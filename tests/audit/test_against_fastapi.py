"""The audit against a naive FastAPI app (naive_fastapi.py, under uvicorn): no preconditions."""

from __future__ import annotations

from tests.audit.independent import Api, mismatches, observe
from tests.audit.invoke import audit


def test_a_tutorial_api_without_preconditions(fastapi_api: str) -> None:
    """307s to /items/ and to /items/1 followed; every write and DELETE flaw found, as tested."""
    run = audit(f"{fastapi_api}/items", "--counter", "count", "--json")
    assert run.code == 1, run.stdout + run.stderr
    report = run.report()
    assert report["url"] == f"{fastapi_api}/items/"
    assert report["notes"] == [
        "POST /items -> 307, so the audit used /items/: POST there -> 201",
        "GET /items/1/ -> 307 to /items/1: the audit writes item URLs that way",
    ]
    assert run.verdicts() == {
        "etag": "fail",
        "not-modified": "skipped",
        "if-match": "fail",
        "precondition-required": "fail",
        "delete": "fail",
        "lost-update": "fail",
        "idempotency-key": "fail",
        "unique": "skipped",
        "problem-json": "fail",
    }
    race = run.check("lost-update")["data"]
    assert race["careful"] is False
    assert race["lost"] == race["acknowledged"] - race["final"] > 0
    api = Api(f"{fastapi_api}/items/", counter="count", etag=False)
    assert mismatches(report, observe(api), api) == []
    assert report["cleanup"]["left"] == []
    assert report["cleanup"]["deleted"] == report["cleanup"]["created"]


def test_a_wrong_url_is_named_as_the_problem(fastapi_api: str) -> None:
    """POST /nothing -> 404, and /nothing/ too: exit 3, the hint is about the URL, not --body."""
    run = audit(f"{fastapi_api}/nothing", "--json")
    assert run.code == 3
    assert "answered 404 (with and without a trailing slash)" in run.stderr
    assert "is this the URL of a collection that takes POST?" in run.stderr
    assert "--body" not in run.stderr
    assert run.report()["cleanup"]["created"] == 0


def test_a_body_the_api_refuses_is_named_as_the_problem(fastapi_api: str) -> None:
    """POST /items/ with a body missing the required title -> 422: the hint names --body."""
    run = audit(f"{fastapi_api}/items/", "--body", '{"name": "x"}')
    assert run.code == 3
    assert "answered 422" in run.stderr
    assert "--body" in run.stderr
