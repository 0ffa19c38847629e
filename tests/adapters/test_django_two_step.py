"""Django: an order committed, then the second database gave up: one order, never two.

The project (django_two_step.py, served by werkzeug behind the WSGI
`IdempotencyMiddleware` with a memory store) commits an order, in
autocommit or in ``transaction.atomic()``, then writes to a second
database that the test holds locked, which gives up after 0.2 s. The
outage is a 504 ``outcome-unknown`` (`ProblemMiddleware` saw the order
commit), the key records it instead of releasing it, and the client's
resend is replayed it: `OutcomeUnknown`, one order. (Before: a 503
``unavailable``, the key released, and the resend made a second order.)
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest

from tests.servers import start_app

pytest.importorskip("django")

from httpconflict.httpx import ConflictClient, OutcomeUnknown, VirtualClock


@pytest.mark.parametrize("mode", ["autocommit", "atomic"])
def test_an_order_committed_before_the_ledger_gave_up_is_made_once(
    tmp_path: Path, mode: str
) -> None:
    """One keyed create, its second database locked for the first try: 504, then one order."""
    env = {"TWO_STEP_DIR": str(tmp_path)}
    target = "tests.adapters.django_two_step:create_app"
    with start_app(target, tmp_path, env=env, probe=f"/{mode}/orders", wsgi=True) as url:
        holder = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        lock: sqlite3.Connection | None = holder
        statuses: list[int] = []

        def unlock(response: httpx.Response) -> None:
            nonlocal lock
            if response.request.method == "POST":
                statuses.append(response.status_code)
            if lock is not None and statuses:
                lock.close()
                lock = None

        hooks = {"response": [unlock]}
        with httpx.Client(base_url=url, timeout=10, event_hooks=hooks) as http:
            client = ConflictClient(http, clock=VirtualClock())
            with pytest.raises(OutcomeUnknown):
                client.create(f"/{mode}/orders", {"item": "tea"}, key=str(uuid.uuid4()))
            made = http.get(f"/{mode}/orders").json()["orders"]
        assert (statuses, made) == ([504, 504], 1)
