"""Flask behind the WSGI middleware: a transactional key never recorded is a 500, and logged.

The app (flask_unrecorded_key.py, served by werkzeug, SQLite) counts; one
route records its answer in the increment's transaction, the other
forgets to. Before, the forgetful route answered 200 and its retry, run
again, was replayed that 200 (n moved twice, silently). Now its answer is
the 500 ``idempotency-key-unrecorded`` naming the fix, replayed to the
retry, and the server's log has a WARNING naming the route; the route that
records answers 200 and replays it, as before.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.servers import start_app

pytest.importorskip("flask")
pytest.importorskip("sqlalchemy")

UNRECORDED = "https://httpconflict.dev/problems/idempotency-key-unrecorded"


def test_a_route_that_never_records_its_key_is_refused_replayed_and_logged(
    tmp_path: Path,
) -> None:
    """/never: 500 unrecorded, replayed, a WARNING naming it; /first: 200, replayed; n counted."""
    env = {"UNRECORDED_DB": str(tmp_path / "app.db")}
    target = "tests.adapters.flask_unrecorded_key:create_app"
    answers = {}
    with start_app(target, tmp_path, env=env, probe="/count", wsgi=True) as url:
        for route in ("/never", "/first"):
            key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
            tries = [httpx.post(url + route, headers=key, timeout=10) for _ in range(2)]
            answers[route] = [(a.status_code, a.headers.get("idempotent-replayed")) for a in tries]
            if route == "/never":
                problems = [a.json() for a in tries]
        n = httpx.get(url + "/count", timeout=10).json()["n"]
    log = "".join(path.read_text() for path in tmp_path.glob("app-*.log"))
    assert answers == {
        "/never": [(500, None), (500, "true")],
        "/first": [(200, None), (200, "true")],
    }
    assert problems[0] == problems[1]
    assert problems[0]["type"] == UNRECORDED
    assert n == 3  # /never ran twice (the retry runs before its record is refused), /first once
    assert log.count("POST /never committed a write and never recorded") == 2  # each try
    assert "POST /first committed" not in log
