"""A SQLAlchemy app that never imported ``httpconflict.sqlalchemy``: its commits are watched.

The engine events that tell a request's commits were added only when the
library's SQLAlchemy package was imported. An app that used SQLAlchemy
with nothing of the library's but the Idempotency-Key middleware (its own
ORM code, no ``versioned_update``) committed an order, raised, and the
middleware, having seen no commit, released the key: the client's resend
with the same key made a second order. The middleware now adds the hooks
of the ORM the app has loaded (unhooked_orm_apps.py: Starlette and Flask,
real servers, an SQLite file), and a Django app behind the WSGI middleware
alone, without the library's ``ProblemMiddleware`` (unhooked_django_app.py).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.servers import start_app


@pytest.mark.parametrize(
    ("factory", "wsgi", "needs"),
    [
        pytest.param(
            "tests.adapters.unhooked_orm_apps:starlette_app",
            False,
            ("starlette", "sqlalchemy"),
            id="starlette",
        ),
        pytest.param(
            "tests.adapters.unhooked_orm_apps:flask_app", True, ("flask", "sqlalchemy"), id="flask"
        ),
        pytest.param(
            "tests.adapters.unhooked_django_app:create_app", True, ("django",), id="django"
        ),
    ],
)
def test_a_resend_after_a_commit_then_a_bug_makes_no_second_order(
    tmp_path: Path, factory: str, wsgi: bool, needs: tuple[str, ...]
) -> None:
    for module in needs:
        pytest.importorskip(module)
    env = {"UNHOOKED_DATABASE": str(tmp_path / "orders.db")}
    with start_app(factory, tmp_path, env=env, wsgi=wsgi) as url:
        headers = {"Idempotency-Key": "order-after-bug-1", "Content-Type": "application/json"}
        first = httpx.post(f"{url}/orders", content=b"{}", headers=headers, timeout=10)
        again = httpx.post(f"{url}/orders", content=b"{}", headers=headers, timeout=10)
        orders = httpx.get(f"{url}/orders/count", timeout=10).json()["orders"]
    assert first.status_code == 500, first.text[:300]
    assert orders == 1, f"the resend ran again: {orders} orders ({again.status_code})"
    assert again.status_code == 500, again.text[:300]
    assert again.headers.get("Idempotent-Replayed") == "true", dict(again.headers)
    if not wsgi:  # Flask and Django answer their own 500 page, recorded as it is
        assert "part" in first.json()["detail"], first.json()  # says part was applied
