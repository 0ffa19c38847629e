"""Shapes of the flask-smorest stores tutorial (tests/audit/smorest_shapes_app.py): a counter
the API writes back as a decimal (a float ``0.0``, or DRF's string ``"0.00"``), and stores
that take no PUT."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit.invoke import audit
from tests.servers import start_app


@pytest.fixture(scope="module")
def decimal_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/audit/smorest_shapes_app.py under uvicorn; its base URL."""
    log_dir: Path = tmp_path_factory.mktemp("smorest")
    with start_app("tests.audit.smorest_shapes_app:create_app", log_dir, probe="/healthz") as url:
        yield url


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/item", '{"name": "audit {uid}", "price": 0, "store_id": 1}', id="float"),
        pytest.param("/recipes/", '{"title": "audit {uid}", "price": "0"}', id="decimal-string"),
    ],
)
def test_the_race_counts_in_a_price(decimal_api: str, path: str, body: str) -> None:
    """--counter price: the race runs and counts every lost update exactly; the write
    checks change the price, and report the stale write applied."""
    run = audit(decimal_api + path, "--body", body, "--counter", "price", "--json")
    race = run.check("lost-update")
    assert race["verdict"] == "fail", race["evidence"]
    data = race["data"]
    assert data["acknowledged"] == 48
    assert data["lost"] == data["acknowledged"] - data["final"] > 0
    if_match = run.check("if-match")
    assert if_match["verdict"] == "fail", if_match["evidence"]
    assert if_match["data"]["stale_applied"] is True
    assert run.report()["cleanup"]["left"] == []


def test_a_refused_write_names_only_members_it_carried(decimal_api: str) -> None:
    """A write still refused with the --body members names only those the resource holds
    (``store_id``, never shown, is not sent): here ``audit_note``, an unknown member."""
    body = '{"name": "audit {uid}", "price": 0, "store_id": 1}'
    run = audit(decimal_api + "/item", "--body", body, "--counter", "nosuch", "--json")
    evidence = " ".join(run.check("if-match")["evidence"])
    assert "carrying name, price as the resource holds them" in evidence, evidence


def test_a_resource_that_takes_no_put_is_deleted_naming_a_made_up_version(
    decimal_api: str,
) -> None:
    """Stores take no PUT, so no version read goes stale: the DELETE check names a made-up
    one, and finds both DELETEs applied (it sent none: "needs a stale version to name")."""
    run = audit(decimal_api + "/store", "--body", '{"name": "audit {uid}"}', "--json")
    deletes = run.check("delete")
    assert deletes["verdict"] == "fail", deletes["evidence"]
    assert deletes["data"]["stale_deleted"] is True
    assert deletes["data"]["blind_deleted"] is True
    assert "the API takes no PUT" in deletes["evidence"][0], deletes["evidence"]
    assert run.report()["cleanup"]["left"] == []


def test_a_race_refused_for_the_counter_it_added_says_so(decimal_api: str) -> None:
    """The race's POST carries the counter --body does not hold; refused as invalid, the
    reason names that member and --counter (it said only "POST /store -> 422")."""
    run = audit(decimal_api + "/store", "--body", '{"name": "audit {uid}"}', "--json")
    race = run.check("lost-update")
    assert race["verdict"] == "skipped"
    evidence = " ".join(race["evidence"])
    assert "'audit_count': 0 added" in evidence, evidence
    assert "--counter" in evidence
