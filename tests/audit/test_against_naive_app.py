"""The audit against a naive app (tests/audit/naive_app.py, under uvicorn): it finds every flaw."""

from __future__ import annotations

import httpx

from tests.audit.independent import Api, mismatches, observe
from tests.audit.invoke import audit


def test_etags_it_ignores(naive_api: str) -> None:
    """ETags sent but ignored, blind writes, 500 on a duplicate: lost updates counted, exit 1."""
    run = audit(f"{naive_api}/v1/notes", "--unique", "email", "--json")
    assert run.code == 1, run.stdout + run.stderr
    assert run.verdicts() == {
        "etag": "pass",
        "not-modified": "fail",
        "if-match": "fail",
        "precondition-required": "fail",
        "delete": "fail",
        "lost-update": "fail",
        "idempotency-key": "fail",
        "unique": "fail",
        "problem-json": "fail",
    }
    race = run.check("lost-update")["data"]
    assert race["careful"] is True  # the clients sent If-Match; it was ignored
    assert race["acknowledged"] == race["writers"] * race["rounds"] == 48
    assert race["refused"] == 0
    assert race["lost"] > 0
    assert race["lost"] == race["acknowledged"] - race["final"]
    assert run.check("if-match")["data"]["stale_status"] == 200
    assert run.check("unique")["data"]["status"] == 500
    assert run.report()["score"] == 5  # only the ETag check's 5 of 100
    assert run.report()["cleanup"]["left"] == []


def test_no_etags_at_all(naive_api_without_etags: str) -> None:
    """No ETags: the clients write blind, updates are lost, retried POSTs duplicate."""
    run = audit(f"{naive_api_without_etags}/v1/notes", "--json")
    assert run.code == 1, run.stdout + run.stderr
    verdicts = run.verdicts()
    assert verdicts["etag"] == "fail"
    assert verdicts["not-modified"] == "skipped"
    assert verdicts["unique"] == "skipped"
    # A made-up stale tag in If-Match is accepted: If-Match is ignored.
    assert run.check("if-match")["verdict"] == "fail"
    race = run.check("lost-update")
    assert race["verdict"] == "fail"
    assert race["data"]["careful"] is False
    assert race["data"]["lost"] > 0
    keys = run.check("idempotency-key")
    assert keys["verdict"] == "fail"
    assert keys["data"]["created_with_key"] == keys["data"]["duplicates"] == 3
    assert keys["evidence"][0].startswith("DUPLICATED: 3 identical POSTs")
    assert run.report()["score"] == 0


def test_a_small_budget_is_kept(naive_api: str) -> None:
    """--max-requests 30: no more requests than that, the race skipped, everything cleaned up."""
    run = audit(f"{naive_api}/v1/notes", "--max-requests", "30", "--json")
    report = run.report()
    assert report["requests"] <= 30
    assert run.check("lost-update")["verdict"] == "skipped"
    assert report["cleanup"]["left"] == []
    assert report["cleanup"]["deleted"] == report["cleanup"]["created"]


def test_terminal_report(naive_api: str) -> None:
    """Without --json: the rich table, the lost updates and the score, exit 1."""
    run = audit(f"{naive_api}/v1/notes")
    assert run.code == 1
    text = " ".join(run.stdout.split())
    assert "lost-update race" in text
    assert "LOST" in text
    assert "score 5/100" in text  # 5 of the 95 points of the checks that ran (no --unique)
    # setup, delete (2), race, 3 keyed POSTs, 1 with another payload, 3 without a key
    assert "cleanup: 11 of 11 test resources deleted" in text


def test_the_content_equality_shortcut_is_named(shortcut_api: str) -> None:
    """If-Match checked but an identical body answered 200: named, and its lost updates counted."""
    run = audit(f"{shortcut_api}/v1/notes", "--json")
    assert run.code == 1, run.stdout + run.stderr
    if_match = run.check("if-match")
    assert if_match["verdict"] == "warn"
    assert if_match["data"]["stale_status"] == 412
    assert if_match["data"]["identical_stale_status"] == 200
    assert "the content-equality shortcut" in if_match["evidence"][-1]
    assert not any("applied, the resource" in line for line in if_match["evidence"])
    race = run.check("lost-update")
    assert race["verdict"] == "fail"
    assert race["data"]["careful"] is True
    assert race["data"]["lost"] > 0
    assert race["data"]["repeated_etags"] > 0
    assert any("content-equality shortcut" in line for line in race["evidence"])
    assert run.check("delete")["data"]["stale_status"] == 412
    api = Api(f"{shortcut_api}/v1/notes")
    assert mismatches(run.report(), observe(api), api) == []


def test_keep_lists_only_what_is_left(naive_api: str) -> None:
    """--keep: the resources the DELETE check deleted are not listed as kept (they were: a
    user went to look at 11 resources, 2 of which were gone); each one listed is there."""
    run = audit(f"{naive_api}/v1/notes", "--keep", "--json")
    cleanup = run.report()["cleanup"]
    assert cleanup["kept"] is True
    assert cleanup["deleted"] == 2  # the naive app deletes whatever the DELETE check sends
    assert len(cleanup["left"]) == cleanup["created"] - 2
    for url in cleanup["left"]:
        assert httpx.get(url).status_code == 200, url
        httpx.delete(url)
    terminal = audit(f"{naive_api}/v1/notes", "--keep").stdout
    text = " ".join(terminal.split())
    assert "9 of 11 test resources kept (--keep); 2 deleted by the checks" in text, text
    for line in terminal.splitlines():
        if "kept: http" in line:
            httpx.delete(line.split("kept: ", 1)[1].strip())
