"""Kinto's records and Airflow 3's pools, as the audit met them (tests/audit/shapes_app.py):
an If-Match checked apart from the write, and a PATCH that takes the whole writable object."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.audit.invoke import audit
from tests.servers import start_app

RECORD = '{"data": {"title": "audit {uid}", "n": 0}}'
POOL = '{"name": "audit-{uid}", "slots": 0, "description": "audit", "include_deferred": false}'


@pytest.fixture(scope="module")
def shapes_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shapes app under uvicorn; its base URL."""
    with start_app(
        "tests.audit.shapes_app:create_app", tmp_path_factory.mktemp("shapes"), probe="/healthz"
    ) as url:
        yield url


def test_if_match_checked_apart_from_the_write(shapes_api: str) -> None:
    """Kinto's shape: a stale write alone gets 412, yet careful racing writers lose updates;
    the race says the version is checked in a step apart from the write."""
    run = audit(
        f"{shapes_api}/v1/records",
        *("--envelope", "data", "--body", RECORD, "--counter", "n", "--json"),
    )
    assert run.code == 1, run.stderr
    assert run.check("if-match")["verdict"] == "pass"
    race = run.check("lost-update")
    assert race["verdict"] == "fail", race["evidence"]
    data = race["data"]
    assert data["careful"] is True
    assert data["lost"] == data["acknowledged"] - (data["final"] - data["initial"]) > 0
    assert any("checks the version and then writes" in line for line in race["evidence"])
    cleanup = run.report()["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0


def test_a_patch_of_the_whole_writable_object(shapes_api: str) -> None:
    """Airflow's pools: a PATCH of the changes alone -> 422, so the audit's PATCHes carry the
    members --body names; every write check and the race are measured (the first write's
    422 was reported as a stale-write failure, and the race as 48 answers of 422)."""
    run = audit(
        f"{shapes_api}/api/v2/pools",
        *("--id-field", "name", "--body", POOL, "--counter", "slots"),
        *("--write-method", "PATCH", "--json"),
    )
    assert run.code == 1, run.stderr
    notes = run.report()["notes"]
    assert any("carry them" in note and "include_deferred" in note for note in notes), notes
    if_match = run.check("if-match")
    assert if_match["data"]["current_status"] == 200, if_match
    assert if_match["data"]["stale_applied"] is True
    assert run.check("precondition-required")["data"] == {"status": 200, "applied": True}
    race = run.check("lost-update")["data"]
    assert race["statuses"] == {"200": 48}, race
    assert race["lost"] == race["acknowledged"] - (race["final"] - race["initial"]) > 0
    assert run.check("delete")["verdict"] == "fail"
    cleanup = run.report()["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0


def test_writes_refused_as_invalid_skip_the_write_checks(shapes_api: str) -> None:
    """A --body lacking a member every PATCH must hold: the write checks and the race are
    skipped with the API's words and what to pass, not failed as stale writes refused."""
    body = '{"name": "audit-{uid}", "slots": 0}'
    run = audit(
        f"{shapes_api}/api/v2/pools",
        *("--id-field", "name", "--body", body, "--counter", "slots"),
        *("--write-method", "PATCH", "--json"),
    )
    verdicts = run.verdicts()
    for check in ("if-match", "precondition-required", "delete", "lost-update"):
        assert verdicts[check] == "skipped", run.check(check)
    evidence = run.check("if-match")["evidence"][0]
    for said in ("-> 422", "refused as invalid", "--body", "description"):  # the API's words
        assert said in evidence, evidence
    assert "--body" in run.check("lost-update")["evidence"][-1]


def test_an_id_in_a_list_of_the_one_resource_made(shapes_api: str) -> None:
    """PiccoloCRUD answers a POST ``[{"id": 1}]``: the audit reads the id there, says so, and
    runs every check (it stopped with exit 3 saying the id member was missing)."""
    run = audit(f"{shapes_api}/piccolo/items/", "--counter", "n", "--json")
    assert run.code == 1, run.stderr
    notes = run.report()["notes"]
    assert any("list of the one resource" in note for note in notes), notes
    assert run.check("lost-update")["verdict"] == "fail"
    cleanup = run.report()["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0


def test_a_post_refused_both_ways_says_so(shapes_api: str) -> None:
    """Datasette's table: POST 405, and with a slash a redirect back: the audit names the 405
    and the URL (it said "a redirect to <the URL given>: audit that URL")."""
    run = audit(f"{shapes_api}/datasette/notes", "--json")
    assert run.code == 3
    assert "answered 405" in run.stderr, run.stderr
    assert "takes POST" in run.stderr
    assert "audit that URL" not in run.stderr


def test_an_id_member_that_is_no_id_is_named_as_such(shapes_api: str) -> None:
    """``--id-field rows`` on Datasette's insert: the member is there, a list, not an id (it
    said the member was missing)."""
    run = audit(f"{shapes_api}/datasette/notes/-/insert", "--id-field", "rows", "--json")
    assert run.code == 3
    assert "its 'rows' member is a list, not an id" in run.stderr, run.stderr


def test_an_item_read_too_slow_is_deleted_all_the_same(shapes_api: str) -> None:
    """The cleanup reads each item before its DELETE (for a version to name): a read that
    comes too late no longer leaves the item behind; the DELETE goes without a version."""
    run = audit(f"{shapes_api}/slow/items", "--request-timeout", "1", "--json")
    assert run.code == 3, run.stderr
    assert "no answer within" in run.stderr
    assert httpx.get(f"{shapes_api}/slow/count", timeout=10).json() == {"left": 0}


def test_a_delete_check_that_could_not_stale_says_it_sent_no_delete(shapes_api: str) -> None:
    """Every change answered 500: the DELETE check fails, and says it tested no DELETE (its
    evidence ended with the failed change, as if a DELETE had been judged)."""
    run = audit(f"{shapes_api}/broken/items", "--json")
    deletes = run.check("delete")
    assert deletes["verdict"] == "fail"
    assert "could not change the resource to make its version stale" in deletes["evidence"][0]
    assert any("no DELETE was sent" in line for line in deletes["evidence"]), deletes
    assert run.report()["cleanup"]["left"] == []


def test_a_put_of_the_writable_members_only(shapes_api: str) -> None:
    """microblog-api's posts refuse a PUT of the resource as read (its server-made members are
    unknown fields, 400): the audit's PUTs carry the members --body names, and every write
    check runs (they were all skipped: "refused as invalid")."""
    run = audit(
        f"{shapes_api}/posts", "--body", '{"text": "audit-{uid}", "n": 0}', "--counter", "n",
        "--json",
    )  # fmt: skip
    notes = run.report()["notes"]
    assert any("carry only them" in note for note in notes), notes
    if_match = run.check("if-match")
    assert if_match["verdict"] == "pass", if_match
    assert if_match["data"]["current_status"] == 200
    race = run.check("lost-update")
    assert race["verdict"] == "pass", race
    cleanup = run.report()["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0
