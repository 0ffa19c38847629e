"""The audit against JSON:API servers: django-rest-framework-json-api, and a strict one.

Requests and answers are ``application/vnd.api+json`` documents; the
``--body`` template, given as one, says so. The audit could not create a
resource before (406: it sent JSON), nor read a counter in
``data.attributes``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.audit.invoke import audit
from tests.servers import start_app

BODY = '{"data": {"type": "notes", "attributes": {"title": "audit {uid}", "count": 0}}}'


@pytest.fixture(scope="module")
def drf_jsonapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """django-rest-framework-json-api over SQLite (threaded WSGI); its URL."""
    log_dir = tmp_path_factory.mktemp("jsonapi")
    env = {"JSONAPI_DATABASE": str(log_dir / "notes.sqlite3")}
    target = "tests.audit.jsonapi_project:create_app"
    with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as url:
        yield url


@pytest.fixture(scope="module")
def strict_jsonapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The JSON:API with ETags and If-Match required (jsonapi_strict_app.py); its URL."""
    log_dir = tmp_path_factory.mktemp("strict-jsonapi")
    with start_app("tests.audit.jsonapi_strict_app:create_app", log_dir, probe="/healthz") as url:
        yield url


def test_drf_json_api_loses_updates(drf_jsonapi: str) -> None:
    """Resources are created, read in data.attributes and PATCHed as JSON:API documents:
    the race's updates are lost and counted exactly, blind writes are applied, nothing is
    left behind."""
    run = audit(
        f"{drf_jsonapi}/notes/", "--body", BODY, "--counter", "count",
        "--write-method", "PATCH", "--json",
    )  # fmt: skip
    assert run.code == 1, run.stdout + run.stderr
    verdicts = run.verdicts()
    assert verdicts["lost-update"] == "fail"
    assert verdicts["precondition-required"] == "fail"
    race = run.check("lost-update")["data"]
    assert race["lost"] > 0
    assert race["server_errors"] == 0
    report = run.report()
    assert report["cleanup"]["left"] == []
    assert report["cleanup"]["deleted"] == report["cleanup"]["created"] > 0


def test_strict_json_api_keeps_every_update(strict_jsonapi: str) -> None:
    """ETags and If-Match on JSON:API documents: the write checks and the race pass, none
    lost, the stale writes refused with 412."""
    run = audit(
        f"{strict_jsonapi}/notes", "--body", BODY, "--counter", "count",
        "--write-method", "PATCH", "--json",
    )  # fmt: skip
    verdicts = run.verdicts()
    for check in ("etag", "not-modified", "if-match", "precondition-required", "delete"):
        assert verdicts[check] == "pass", check
    assert verdicts["lost-update"] == "pass"
    assert verdicts["idempotency-key"] == "pass"
    race = run.check("lost-update")["data"]
    assert race["lost"] == 0 < race["refused"]
    assert run.report()["cleanup"]["left"] == []
