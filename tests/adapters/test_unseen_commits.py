"""Commits no database hook sees (psycopg used directly), then a failure: never applied twice.

The app (raw_driver_apps.py, under uvicorn, on PostgreSQL) writes through
its own psycopg connections. The middleware cannot see those commits, so
without help it takes a raise for "nothing applied" and releases the key:
`ConflictClient` resends the create on the 500, and each resend made
another order. Two ways out, each tested here with the real client:
the app says so (`httpconflict.mark_applied()` after its commit), or the
route's policy records every server error (`store_server_errors=True`:
a raise too, as a 500 saying that part may have been applied).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.own_database import own_database
from tests.servers import start_app

pytest.importorskip("fastapi")
pytest.importorskip("psycopg")

from httpconflict.httpx import ConflictClient, OutcomeUnknown, VirtualClock


class Served:
    def __init__(self, url: str, log_dir: Path) -> None:
        self.url = url
        self.log_dir = log_dir

    def log(self) -> str:
        return "".join(path.read_text() for path in self.log_dir.glob("app-*.log"))

    def orders(self, mount: str) -> int:
        prefix = f"/{mount}" if mount else ""
        count: int = httpx.get(f"{self.url}{prefix}/orders/count", timeout=10).json()["orders"]
        return count


@contextmanager
def _serving(
    postgres_server: str, tmp: pytest.TempPathFactory, name: str, factory: str, **options: Any
) -> Iterator[Served]:
    """`factory` as a server process on two databases of its own: its orders, its keys."""
    with (
        own_database(postgres_server, f"hc_{name}_app") as (_, database),
        own_database(postgres_server, f"hc_{name}_keys") as (_, keys),
    ):
        log_dir = tmp.mktemp(name)
        env = {"RAW_DATABASE": database, "RAW_KEYS": keys}
        with start_app(factory, log_dir, env=env, **options) as url:
            yield Served(url, log_dir)


@pytest.fixture(scope="module")
def served(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    factory = "tests.adapters.raw_driver_apps:create"
    with _serving(
        postgres_server, tmp_path_factory, "unseen", factory, probe="/default/orders/count"
    ) as app:
        yield app


@pytest.fixture(scope="module")
def flask_served(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """raw_driver_flask.py under werkzeug: Flask answers its own 500 to a raise."""
    pytest.importorskip("flask")
    factory = "tests.adapters.raw_driver_flask:create"
    with _serving(postgres_server, tmp_path_factory, "unseen_flask", factory, wsgi=True) as app:
        yield app


def _incidents(served: Served) -> list[str]:
    return [line for line in served.log().splitlines() if "incident " in line]


def _create(served: Served, path: str) -> tuple[list[httpx.Response], str]:
    """`ConflictClient.create` with a key; every answer it got, and how it ended."""
    answers: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        answers.append(response)

    hooks = {"response": [keep]}
    with httpx.Client(base_url=served.url, timeout=10, event_hooks=hooks) as http:
        client = ConflictClient(http, clock=VirtualClock())
        try:
            client.create(path, {"item": "tea"}, key=str(uuid.uuid4()))
            ended = "created"
        except OutcomeUnknown:
            ended = "OutcomeUnknown"
    return answers, ended


def _logged(served: Served, incident: str) -> list[str]:
    deadline = time.monotonic() + 5
    while incident not in served.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    return [line for line in served.log().splitlines() if incident in line]


def _one_order_then_replays(served: Served, mount: str, route: str) -> dict[str, str]:
    """A keyed create of `route`: one order, the client's OutcomeUnknown; the recorded problem."""
    before = served.orders(mount)
    answers, ended = _create(served, f"/{mount}/orders/{route}".replace("//", "/"))
    assert served.orders(mount) - before == 1
    assert ended == "OutcomeUnknown"
    first = answers[0]
    assert first.status_code == 500
    assert first.headers["content-type"] == "application/problem+json"
    # Every resend the client made was answered the record, not run.
    assert all(a.headers.get("idempotent-replayed") == "true" for a in answers[1:])
    assert all(a.json() == first.json() for a in answers[1:])
    problem: dict[str, str] = first.json()
    return problem


def test_a_commit_marked_by_the_app_is_never_run_again(served: Served) -> None:
    logged = len(_incidents(served))
    problem = _one_order_then_replays(served, "default", "marked")
    assert "after applying part of this request" in problem["detail"]
    # One failure, one incident: the one the answer names (install's own 500 handler,
    # whose answer the middleware replaces, logs none of its own).
    said = _logged(served, problem["incident"])
    assert len(said) == 1
    assert len(_incidents(served)) == logged + 1, _incidents(served)[logged:]


def test_a_framework_that_answers_its_own_500_says_part_may_be_applied(
    flask_served: Served,
) -> None:
    """Flask turns the raise into its 500 before the middleware sees it: that 500 says
    part may have been applied, under an incident, as a raise that reaches it would."""
    problem = _one_order_then_replays(flask_served, "", "failing")
    assert "may have applied part of it" in problem["detail"]
    said = _logged(flask_served, problem["incident"])
    assert len(said) == 1
    assert "RuntimeError: the raw-driver app failed" in said[0]


def test_a_path_cannot_forge_a_log_line(served: Served) -> None:
    """The path is logged with its line breaks and escapes written out: the incident's
    line is whole, and no line of the client's making follows it."""
    forged = "incident deadbeef0000: 500 POST forged \x1b[2J"
    target = "/default/labelled/k%0D" + forged.replace(" ", "%20").replace("\x1b", "%1B")
    with httpx.Client(base_url=served.url, timeout=10) as http:
        answer = http.post(target, json={"item": "tea"}, headers={"Idempotency-Key": "forge"})
    assert answer.status_code == 500
    said = _logged(served, answer.json()["incident"])
    assert len(said) == 1
    assert "RuntimeError: the raw-driver app failed" in said[0]
    assert "\\r" in said[0]
    assert not any(line.startswith("incident deadbeef0000") for line in served.log().splitlines())
    assert "\x1b[2J" not in served.log()


def test_a_policy_that_records_server_errors_records_a_raise(served: Served) -> None:
    """No commit seen and none marked: the raise is recorded as 'may have applied part'."""
    problem = _one_order_then_replays(served, "recorded", "failing")
    assert "may have applied part of it" in problem["detail"]
    said = _logged(served, problem["incident"])
    assert len(said) == 1, "the error never reached the log under the answer's incident"
    assert "records the failure" in said[0]
    assert "RuntimeError: the raw-driver app failed" in served.log()


def test_recording_server_errors_costs_a_raise_that_applied_nothing_its_retry(
    served: Served,
) -> None:
    """The policy's price: a raise before any write is replayed too; the default releases it."""
    key, other = str(uuid.uuid4()), str(uuid.uuid4())
    with httpx.Client(base_url=served.url, timeout=10) as http:
        recorded = [
            http.post(
                "/recorded/orders/refused", json={"item": "tea"}, headers={"Idempotency-Key": key}
            )
            for _ in range(2)
        ]
        released = [
            http.post(
                "/default/orders/refused", json={"item": "tea"}, headers={"Idempotency-Key": other}
            )
            for _ in range(2)
        ]
    assert [a.status_code for a in recorded] == [500, 500]
    assert recorded[1].headers.get("idempotent-replayed") == "true"
    assert recorded[0].json() == recorded[1].json()
    # Released: the retry ran again, answered the app's own 500 each time (its problem,
    # not the server's bare text), the error logged with its traceback.
    assert [a.status_code for a in released] == [500, 500]
    assert all(a.headers.get("idempotent-replayed") is None for a in released)
    assert all(a.headers["content-type"] == "application/problem+json" for a in released)
    assert served.log().count("is released for a retry to run") >= 2


def test_an_outage_after_a_marked_commit_is_an_unknown_outcome(served: Served) -> None:
    """Its second database down after the marked commit: 504 outcome-unknown, not 503."""
    before = served.orders("default")
    answers, ended = _create(served, "/default/orders/outage")
    assert served.orders("default") - before == 1
    assert ended == "OutcomeUnknown"
    assert answers[0].status_code == 504
    assert answers[0].json()["type"].endswith("/outcome-unknown")
