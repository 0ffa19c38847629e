"""Django: a database outage outside the view (another middleware) is a 503/504 with handler500.

The project (django_sessions.py) keeps its sessions in a SQLite file that
the test locks from its own connection (``BEGIN EXCLUSIVE``), so the
server's session reads and writes give up after their 0.2 s busy timeout.
``SessionMiddleware`` saving a new session after the view: a 503 for a GET,
a 504 for a POST (its view ran; what it wrote may be in the database). A
middleware loading the user before the view: a 503, even for a POST. With
Django's own ``handler500`` each is a 500.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import httpx
import pytest

from tests.adapters.test_database_outage import PROBLEM, assert_outage, started
from tests.servers import start_app

pytest.importorskip("django")


def sessions_server(log_dir: Path, handler500: str) -> AbstractContextManager[str]:
    """The project on a SQLite file of its own, with `handler500` (httpconflict or django)."""
    env = {
        "SESSIONS_DATABASE": str(log_dir / f"{handler500}.db"),
        "SESSIONS_HANDLER500": handler500,
    }
    target = "tests.adapters.django_sessions:create_app"
    return start_app(target, log_dir, env=env, probe="/healthz", wsgi=True)


def test_outage_outside_the_view(tmp_path: Path) -> None:
    """Session saved after the view: GET 503, POST 504; user loaded before it: POST 503."""
    with ExitStack() as stack:
        ours, djangos = started(
            stack, sessions_server(tmp_path, "httpconflict"), sessions_server(tmp_path, "django")
        )
        for url, handler500 in ((ours, "httpconflict"), (djangos, "django")):
            with httpx.Client(base_url=url, timeout=30) as signed_in:
                assert signed_in.post("/visit").json() == {"visits": 1}  # the session's cookie
                assert "sessionid" in signed_in.cookies
                lock = sqlite3.connect(tmp_path / f"{handler500}.db", isolation_level=None)
                lock.execute("BEGIN EXCLUSIVE")
                try:
                    after_view = {m: httpx.request(m, f"{url}/visit") for m in ("GET", "POST")}
                    before_view = signed_in.post("/visit")
                finally:
                    lock.close()
                if handler500 == "django":
                    for answer in (*after_view.values(), before_view):
                        assert answer.status_code == 500, answer.text
                        assert answer.headers["content-type"] == PROBLEM
                    continue
                assert_outage(after_view["GET"])
                assert_outage(after_view["POST"], 504)
                assert "after the request was handled" in after_view["POST"].json()["detail"]
                assert_outage(before_view)
                assert signed_in.post("/visit").json() == {"visits": 2}  # unlocked: as before


def test_a_raise_after_a_commit_says_part_was_applied(tmp_path: Path) -> None:
    """A view that committed, then raised: a 500 naming what happened, with either handler500.

    Ours (`server_error`) and Django's own page replaced by `ProblemMiddleware`
    alike; a view that raised before writing anything still gets the plain 500.
    """
    with ExitStack() as stack:
        ours, djangos = started(
            stack, sessions_server(tmp_path, "httpconflict"), sessions_server(tmp_path, "django")
        )
        for url in (ours, djangos):
            with httpx.Client(base_url=url, timeout=30) as http:
                applied, nothing = http.post("/failing"), http.post("/raising")
            for answer in (applied, nothing):
                assert answer.status_code == 500, answer.text
                assert answer.headers["content-type"] == PROBLEM
            assert "after applying part of this request" in applied.json()["detail"], url
            assert applied.json()["incident"]
            assert "applying" not in nothing.json().get("detail", "")
            # Named all the same: Django without LOGGING prints no 500 anywhere.
            assert nothing.json()["incident"] != applied.json()["incident"]
        log = "".join(path.read_text() for path in tmp_path.glob("app-*.log"))
        assert f"incident {nothing.json()['incident']}: 500 POST /raising raised" in log
        said = [line for line in log.splitlines() if "raised after committing a write" in line]
        assert len(said) == 2, log[-3000:]
        # Ours logs the error on the incident's line; Django's page points to its own log.
        assert any("the Django view failed" in line for line in said)
