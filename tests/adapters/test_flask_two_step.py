"""Flask: an order committed, then the second database gave up: a 504, not a 503.

The app (flask_two_step.py, served by werkzeug) commits an order in one
SQLite file, then writes to another that the test holds locked. A 503
``unavailable`` would tell the client that nothing was applied (it would
send the order again); `install(app)` watches the request's commits, so
the answer is a 504 ``outcome-unknown``. A second POST, with nothing
committed before its failure, is still a 503. (Before: 503 for both.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.servers import start_app

pytest.importorskip("flask")
pytest.importorskip("sqlalchemy")

TYPES = "https://httpconflict.dev/problems/"


def test_a_failure_after_a_commit_is_an_unknown_outcome(tmp_path: Path) -> None:
    """Ledger locked: the POST whose order committed is 504; with orders locked too, 503."""
    env = {"TWO_STEP_DIR": str(tmp_path)}
    target = "tests.adapters.flask_two_step:create_app"
    with start_app(target, tmp_path, env=env, probe="/orders", wsgi=True) as url:
        ledger = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
        ledger.execute("BEGIN EXCLUSIVE")
        try:
            after = httpx.post(f"{url}/orders", timeout=10)
            orders = sqlite3.connect(tmp_path / "orders.db", isolation_level=None)
            orders.execute("BEGIN EXCLUSIVE")
            try:
                before = httpx.post(f"{url}/orders", timeout=10)
            finally:
                orders.close()
        finally:
            ledger.close()
        made = httpx.get(f"{url}/orders", timeout=10).json()["orders"]
    answers = [(a.status_code, a.json()["type"].removeprefix(TYPES)) for a in (after, before)]
    assert answers == [(504, "outcome-unknown"), (503, "unavailable")]
    assert made == 1
