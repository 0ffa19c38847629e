"""Duplicates sent at once: a uniqueness check made by a SELECT before the INSERT races."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.audit.invoke import audit
from tests.servers import start_app


@pytest.fixture(scope="module")
def precheck_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/audit/precheck_app.py on its own SQLite file under uvicorn; its base URL."""
    log_dir = tmp_path_factory.mktemp("precheck")
    env = {"PRECHECK_DATABASE": str(log_dir / "users.sqlite3")}
    app = "tests.audit.precheck_app:create_app"
    with start_app(app, log_dir, env=env, probe="/healthz") as url:
        yield url


def test_duplicates_sent_at_once_that_get_500_fail_the_check(precheck_api: str) -> None:
    """An API refusing a duplicate sent alone with 400, found by a SELECT before its INSERT,
    answers 500 to the same duplicate sent together with the original (the FastAPI full-stack
    template's users: 7 of 8 such POSTs got 500). The audit sent duplicates one after the
    other only and gave a warning; it now sends them at once too, and fails the check."""
    body = '{"email": "audit{uid}@example.com", "name": "n", "count": 0}'
    run = audit(f"{precheck_api}/users", "--body", body, "--unique", "email", "--json")
    check = run.check("unique")
    assert check["verdict"] == "fail", check
    said_alone, said_together = check["evidence"][:2]
    assert said_alone.endswith("-> 400: refused, but a duplicate is a 409 Conflict"), said_alone
    assert " sent at once -> 201 x1, 500 x3: the unique violation escaped" in said_together
    assert check["data"]["together"] == {"201": 1, "500": 3}, check["data"]
    assert run.report()["cleanup"]["left"] == []
