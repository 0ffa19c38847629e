"""What the apps with a bug share (server_error_apps.py, flask_server_error_app.py), and how
their 500s are checked (test_asgi_server_error_pages.py, test_flask_server_error_pages.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Column, Integer, MetaData, String, Table

#: In the text of every error the apps raise: no answer may show it.
SECRET = "sk_live_do_not_show"  # noqa: S105  # a made-up one, to look for
#: The body of an app's own 500 handler (mode ``own``).
OWN = "our own 500 page"

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
BROWSER = {"Accept": FIREFOX}
HTML = "text/html; charset=utf-8"
PROBLEM = "application/problem+json"
INTERNAL = "https://httpconflict.dev/problems/internal-error"

metadata = MetaData()
#: The rows ``POST /commit-then-boom`` commits before its bug.
rows = Table(
    "server_error_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("note", String(100), nullable=False),
)


@dataclass
class App:
    url: str
    log_dir: Path
    #: Characters of the log read and forgotten (`forget_log`).
    seen: int = 0

    def post(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        # uvicorn closes the connection of a request whose app raised: a client each time.
        return httpx.post(self.url + path, data={"item": "tea"}, headers=headers, timeout=10)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = httpx.get(self.url + "/counts", timeout=10).json()
        return counts

    def log(self) -> str:
        text = "".join(path.read_text() for path in self.log_dir.glob("app-*.log"))
        return text[self.seen :]

    def forget_log(self) -> None:
        """Start the log afresh: `log` reads what comes next."""
        self.seen += len(self.log())


def incident_of(text: str) -> str:
    """The incident an answer (a page or a problem's text) names."""
    found = re.search(r"incident ([0-9a-f]{12})", text)
    assert found is not None, text
    return found[1]


def no_leak(text: str) -> None:
    assert SECRET not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text


def logged(app: App, incident: str) -> str:
    """The log's line for `incident`: the error is there, in the httpconflict logger's words."""
    (line,) = [line for line in app.log().splitlines() if f"incident {incident}" in line]
    assert "RuntimeError" in line
    assert SECRET in line
    return line
