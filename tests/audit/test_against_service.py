"""The audit against our own service (a real `httpconflict serve`): every check passes."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.audit.independent import Api, mismatches, observe
from tests.audit.invoke import audit
from tests.servers import ServiceProcess

CHECKS = (
    "etag",
    "not-modified",
    "if-match",
    "precondition-required",
    "delete",
    "lost-update",
    "idempotency-key",
    "unique",
    "problem-json",
)


@pytest.fixture
def notes(service: ServiceProcess) -> str:
    """A fresh collection whose "email" is declared unique; its URL."""
    name = f"audit-{uuid.uuid4().hex[:12]}"
    with service.client() as http:
        declared = http.put(f"/v1/_collections/{name}", json={"unique": ["email"]})
    assert declared.status_code == 200, declared.text
    return f"{service.url}/v1/{name}"


def test_every_check_passes_and_no_update_is_lost(notes: str, tmp_path: Path) -> None:
    """All nine checks pass, score 100, exit 0, as the test's own check finds too."""
    html = tmp_path / "audit.html"
    run = audit(notes, "--unique", "email", "--json", "--html", str(html))
    assert run.code == 0, run.stdout + run.stderr
    report = run.report()
    assert run.verdicts() == dict.fromkeys(CHECKS, "pass")
    assert report["score"] == 100
    assert report["requests"] <= report["max_requests"] == 400

    race = run.check("lost-update")["data"]
    assert race["careful"] is True
    assert race["lost"] == 0
    assert race["acknowledged"] == race["final"] > 0
    # The writers really collided: stale writes were refused (412) and retried.
    assert race["refused"] > 0
    assert set(race["statuses"]) == {"200", "412"}
    assert sum(w["acknowledged"] for w in race["per_writer"]) == race["acknowledged"]

    keys = run.check("idempotency-key")["data"]
    assert keys["created_with_key"] == 1
    assert keys["replayed"] == keys["marked_replayed"] == 2
    assert keys["other_payload_status"] == 422
    assert run.check("if-match")["data"] == {
        "current_status": 200,
        "version_members": [],
        "stale_status": 412,
        "stale_applied": False,
        "identical_stale_status": 412,
    }
    assert run.check("precondition-required")["data"] == {"status": 428, "applied": False}
    assert run.check("delete")["data"] == {
        "stale_status": 412,
        "stale_deleted": False,
        "blind_status": 428,
        "blind_deleted": False,
    }
    assert run.check("unique")["data"]["status"] == 409
    # Sent at once too, one is made and the others refused: the unique index decides.
    assert run.check("unique")["data"]["together"] == {"201": 1, "409": 3}
    problems = run.check("problem-json")["data"]
    assert problems["errors"] == problems["problems"] > 0

    assert report["cleanup"]["deleted"] == report["cleanup"]["created"] > 0
    assert report["cleanup"]["left"] == []
    assert "lost-update" in html.read_text()
    api = Api(notes)
    assert mismatches(report, observe(api), api) == []


def test_the_audit_leaves_nothing_behind(notes: str) -> None:
    """After the audit the collection is empty again: every test resource was deleted."""
    run = audit(notes, "--json")
    assert run.code == 0, run.stdout + run.stderr
    assert run.check("unique")["verdict"] == "skipped"
    page = httpx.get(notes, timeout=10)
    assert page.status_code == 200
    assert page.json()["items"] == []


def test_patch_as_the_write_method(notes: str) -> None:
    """--write-method PATCH (JSON merge patches): still every check passes, nothing lost."""
    run = audit(notes, "--unique", "email", "--write-method", "PATCH", "--json")
    assert run.code == 0, run.stdout + run.stderr
    assert set(run.verdicts().values()) == {"pass"}
    race = run.check("lost-update")["data"]
    assert race["lost"] == 0
    assert race["acknowledged"] == race["final"] > 0


def test_a_body_without_uid_still_sends_another_payload(notes: str) -> None:
    """--body without {uid}: the "same key, another payload" POST differs all the same, so the
    service's replay refusal is a pass (it sent the same body, and warned that a replay was
    given "for a different request")."""
    run = audit(notes, "--body", '{"title": "fixed", "n": 0}', "--json")
    keys = run.check("idempotency-key")
    assert keys["verdict"] == "pass", keys
    assert keys["data"]["other_payload_status"] == 422
