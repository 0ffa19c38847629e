"""Writes refused for who the audit is (401, 403), not for the version they name.

The shape of a real API (microblog's users, the FastAPI full-stack
template's items for another user): the audit may create its resources
but not change them. A 403 there says nothing about preconditions, so
the write checks are skipped with the reason, never failed as a stale
write "refused" wrongly nor credited as a blind write refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.audit.invoke import audit
from tests.servers import start_app

WRITE_CHECKS = ("if-match", "precondition-required", "delete", "lost-update")


@pytest.fixture(scope="module")
def owned_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/audit/owned_app.py under uvicorn; its base URL."""
    log_dir = tmp_path_factory.mktemp("owned")
    with start_app("tests.audit.owned_app:create_app", log_dir, probe="/healthz") as url:
        yield url


def test_writes_forbidden_to_the_audit_are_not_judged(owned_api: str) -> None:
    """Every write answers 403 (another user's token): the four write checks are skipped,
    each saying the credentials may not write, and score nothing either way."""
    run = audit(f"{owned_api}/users", "--header", "Authorization: Bearer user-0", "--json")
    verdicts = run.verdicts()
    for check in WRITE_CHECKS:
        assert verdicts[check] == "skipped", (check, run.check(check)["evidence"])
        evidence = " ".join(run.check(check)["evidence"])
        assert "403" in evidence, (check, evidence)
        assert "--header" in evidence, (check, evidence)
    assert verdicts["etag"] == "fail"
    assert run.report()["score"] == 0
    assert run.code == 1


def test_a_read_that_needs_credentials_says_so(owned_api: str) -> None:
    """No token: the first GET answers 401, and the audit says to pass credentials, exit 3."""
    run = audit(f"{owned_api}/users", "--json")
    assert run.code == 3
    assert "answered 401" in run.stderr
    assert "--header 'Authorization: ...'" in run.stderr
