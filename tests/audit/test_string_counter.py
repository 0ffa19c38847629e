"""A counter kept in a string field, for APIs whose items have no whole-number field
a client may set (the FastAPI full-stack template's items, the DRF tutorial's snippets)."""

from __future__ import annotations

from tests.audit.invoke import audit


def test_the_race_counts_in_a_string_field(fastapi_api: str) -> None:
    """--counter description with "0" in --body: the race runs, counting "0", "1", ...
    and the writes change what the API keeps; the lost updates are counted exactly."""
    body = '{"title": "audit {uid}", "description": "0"}'
    run = audit(f"{fastapi_api}/items/", "--body", body, "--counter", "description", "--json")
    race = run.check("lost-update")
    assert race["verdict"] == "fail", race["evidence"]
    data = race["data"]
    assert data["acknowledged"] == data["writers"] * data["rounds"] == 48
    assert data["lost"] == data["acknowledged"] - data["final"] > 0
    if_match = run.check("if-match")
    assert not any("does not hold" in line for line in if_match["evidence"]), if_match
    assert if_match["data"]["stale_applied"] is True


def test_a_counter_the_api_drops_says_how_to_name_one(fastapi_api: str) -> None:
    """A counter this schema drops: the race is skipped, and the reason names --counter
    and a string field given as "0"."""
    body = '{"title": "audit {uid}"}'
    run = audit(f"{fastapi_api}/items/", "--body", body, "--counter", "nosuch", "--json")
    race = run.check("lost-update")
    assert race["verdict"] == "skipped"
    evidence = " ".join(race["evidence"])
    assert "--counter" in evidence
    assert 'given as "0" in --body' in evidence
