"""The audit against Django REST framework + django-concurrency behind DRF's DefaultRouter.

The project (drf_project.py) runs as a real threaded WSGI server, once with
django-concurrency's default 409 handler (a 500 on Django 5.2) and once
with a JSON 409. The audit is given ``/notes`` without the router's
trailing slash, as a user would type it.
"""

from __future__ import annotations

import httpx
import pytest

from tests.audit.independent import Api, mismatches, observe
from tests.audit.invoke import audit

COMMON = {
    "etag": "fail",  # no ETags: the version travels in the body
    "not-modified": "skipped",
    "precondition-required": "fail",  # a PUT without version is applied
    "delete": "fail",  # django-concurrency does not guard DELETE
    "idempotency-key": "fail",
    "unique": "skipped",
    "problem-json": "fail",
}
BY_HANDLER = {
    "default": {"if-match": "fail", "lost-update": "fail"},  # stale writes answer 500
    "json": {"if-match": "pass", "lost-update": "pass"},
}


def test_drf_router_and_version_field(drf_api: str, request: pytest.FixtureRequest) -> None:
    """The slash redirect is followed, `version` is modelled, 5xx fail, nothing left behind."""
    handler = request.node.callspec.params["drf_api"]
    run = audit(f"{drf_api}/notes", "--counter", "count", "--json")
    assert run.code == 1, run.stdout + run.stderr
    report = run.report()
    assert report["url"] == f"{drf_api}/notes/"
    assert report["notes"] == ["POST /notes -> 301, so the audit used /notes/: POST there -> 201"]
    assert run.verdicts() == {**COMMON, **BY_HANDLER[handler]}
    assert run.check("if-match")["data"]["version_members"] == ["version"]
    race = run.check("lost-update")["data"]
    assert race["lost"] == 0
    if handler == "default":
        # The conflicts all answered 500: a failed race, though nothing was lost.
        assert race["server_errors"] > 0
        assert run.check("lost-update")["evidence"][0].startswith("SERVER ERRORS: ")
        assert run.check("if-match")["data"]["stale_status"] == 500
    else:
        assert race["server_errors"] == 0 < race["refused"]
    api = Api(
        f"{drf_api}/notes/",
        counter="count",
        member="version",
        etag=False,
        delete_by_member=True,
        item_slash=True,
    )
    assert mismatches(report, observe(api), api) == []
    assert report["cleanup"]["left"] == []
    assert report["cleanup"]["deleted"] == report["cleanup"]["created"]
    assert httpx.get(f"{drf_api}/notes/", timeout=10).json() == []


def test_drf_patches_as_json(drf_api: str, request: pytest.FixtureRequest) -> None:
    """--write-method PATCH: merge-patch+json gets 415, so JSON is sent; the same findings."""
    handler = request.node.callspec.params["drf_api"]
    run = audit(f"{drf_api}/notes/", "--counter", "count", "--write-method", "PATCH", "--json")
    assert run.code == 1, run.stdout + run.stderr
    assert run.report()["notes"] == [
        "PATCH with application/merge-patch+json -> 415, so the audit sent its patches as "
        "application/json"
    ]
    assert run.verdicts() == {**COMMON, **BY_HANDLER[handler]}
    assert run.check("if-match")["data"]["version_members"] == ["version"]
    assert run.report()["cleanup"]["left"] == []
