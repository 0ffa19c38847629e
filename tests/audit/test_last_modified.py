"""A Last-Modified that is not an HTTP-date is named in the ETag check's evidence."""

from __future__ import annotations

from pathlib import Path

from tests.audit.invoke import audit
from tests.servers import start_app


def test_an_iso_last_modified_is_named(tmp_path: Path) -> None:
    """mealie's shape: Last-Modified in ISO 8601; the evidence says a client's
    If-Unmodified-Since cannot name it (RFC 9110 §8.8.2), the verdict is the ETag's own."""
    env = {"NAIVE_ETAGS": "1", "NAIVE_ISO_LAST_MODIFIED": "1"}
    with start_app("tests.audit.naive_app:create_app", tmp_path, env=env, probe="/healthz") as url:
        run = audit(f"{url}/v1/notes", "--json", "--max-requests", "60")
    etag = run.check("etag")
    assert etag["verdict"] == "pass", etag
    (line,) = (e for e in etag["evidence"] if "Last-Modified" in e)
    assert "2026-12-03T14:20:24.344401Z" in line
    assert "HTTP-date" in line


def test_an_http_date_last_modified_is_not_mentioned(naive_api: str) -> None:
    """No Last-Modified, or a valid one: nothing said of it."""
    run = audit(f"{naive_api}/v1/notes", "--json", "--max-requests", "60")
    assert not any("Last-Modified" in e for e in run.check("etag")["evidence"])
