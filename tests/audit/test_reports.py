"""The report's three renderings: terminal, JSON, self-contained HTML."""

from __future__ import annotations

import io
import json
import re

from rich.console import Console

from httpconflict.tools.audit import html_page, terminal
from httpconflict.tools.audit.catalog import CHECKS, LOST_UPDATE
from httpconflict.tools.audit.report import AuditReport
from httpconflict.tools.audit.target import CleanupReport
from httpconflict.tools.audit.verdict import CheckResult, Verdict

RACE = {
    "writers": 2,
    "rounds": 3,
    "careful": True,
    "acknowledged": 6,
    "refused": 0,
    "server_errors": 1,
    "initial": 0,
    "final": 4,
    "lost": 2,
    "per_writer": [
        {"writer": 0, "acknowledged": 3, "refused": 0, "server_errors": 1},
        {"writer": 1, "acknowledged": 3, "refused": 0, "server_errors": 0},
    ],
}


def report() -> AuditReport:
    results = [
        CheckResult(
            c.id,
            Verdict.FAIL if c is LOST_UPDATE else Verdict.PASS,
            ("evidence with <script>alert(1)</script> and [bold]markup[/bold]",),
            RACE if c is LOST_UPDATE else {},
        )
        for c in CHECKS
    ]
    return AuditReport(
        url="http://127.0.0.1:9/v1/<notes>",
        started_at="2026-01-01T00:00:00+00:00",
        duration=1.25,
        requests=120,
        max_requests=400,
        results=tuple(results),
        cleanup=CleanupReport(created=3, deleted=2, left=("http://127.0.0.1:9/v1/notes/7",)),
        notes=("POST /v1/notes -> 301, so the audit used /v1/notes/: POST there -> 201",),
    )


def test_exit_status_is_1_when_a_check_failed() -> None:
    """A failed check makes the exit status 1; warnings and skips alone make it 0."""
    assert report().exit_code == 1
    passing = AuditReport(
        "http://x/",
        "t",
        0,
        0,
        30,
        (CheckResult("etag", Verdict.WARN, ()),),
        CleanupReport(1, 1, ()),
    )
    assert passing.exit_code == 0


def test_json_has_every_check_with_its_weight() -> None:
    """--json: score, verdict counts, each check with title, weight, evidence and data."""
    data = json.loads(json.dumps(report().to_dict()))
    assert data["score"] == 75
    assert data["verdicts"] == {"pass": 8, "warn": 0, "fail": 1, "skipped": 0}
    assert [c["id"] for c in data["checks"]] == [c.id for c in CHECKS]
    assert data["checks"][5]["data"]["lost"] == 2
    assert data["notes"] == [
        "POST /v1/notes -> 301, so the audit used /v1/notes/: POST there -> 201"
    ]
    assert data["cleanup"] == {
        "created": 3,
        "deleted": 2,
        "left": ["http://127.0.0.1:9/v1/notes/7"],
        "kept": False,
        "unlocated": 0,
        "unanswered_posts": 0,
    }


def test_terminal_table() -> None:
    """The terminal report lists checks, verdicts and evidence as written (no markup)."""
    out = io.StringIO()
    terminal.render(report(), Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for check in CHECKS:
        assert check.title in text
    assert "[bold]markup[/bold]" in text
    assert "score 75/100" in text
    assert "cleanup: 2 of 3 test resources deleted" in text
    assert "left behind: http://127.0.0.1:9/v1/notes/7" in text
    assert "note: POST /v1/notes -> 301, so the audit used /v1/notes/" in text


def test_html_is_self_contained_and_escaped() -> None:
    """One page: inline CSS and SVG, no script, no fetched resource, API text escaped."""
    page = html_page.render(report())
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert page.count("<svg") == 2  # the score ring and the race's per-writer bars
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "/v1/&lt;notes&gt;" in page
    assert not re.search(r"""\b(src|href)\s*=|<link|@import|url\(""", page)
    assert "2 lost" in page
    assert "1 server errors" in page
    assert "note: POST /v1/notes -&gt; 301" in page
