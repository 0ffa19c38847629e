"""APIs that take writes their own way: a member the server changes by itself but refuses
in a write is no version (Prefect's variables: ``updated``, and PATCH bodies with
``extra="forbid"``; tests/audit/strict_patch_app.py), and an item changed by a POST to its
URL (Redash; tests/audit/post_update_app.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.audit.invoke import audit
from tests.servers import start_app

BODY = '{"name": "audit_{uid}", "value": 0}'


@pytest.fixture(scope="module")
def strict_patch_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The strict PATCH app under uvicorn; its base URL."""
    with start_app(
        "tests.audit.strict_patch_app:create_app",
        tmp_path_factory.mktemp("strict"),
        probe="/healthz",
    ) as url:
        yield url


def test_a_member_refused_in_a_write_is_left_out(strict_patch_api: str) -> None:
    """``updated`` changed by the server, then a PATCH sending it back -> 422: the audit
    writes without it, so the stale write, the race and the DELETEs are measured (they
    were all refused with 422 for the member, and reported as stale writes refused)."""
    run = audit(
        f"{strict_patch_api}/api/variables/",
        *("--body", BODY, "--counter", "value", "--write-method", "PATCH"),
        *("--unique", "name", "--json"),
    )
    assert run.code == 1, run.stderr
    if_match = run.check("if-match")
    assert if_match["data"]["version_members"] == [], if_match
    assert if_match["data"]["refused_members"] == ["updated"], if_match
    assert any("-> 422" in line and "updated" in line for line in if_match["evidence"])
    assert if_match["data"]["stale_status"] == 204, if_match
    assert if_match["data"]["stale_applied"] is True
    assert if_match["verdict"] == "fail"
    race = run.check("lost-update")["data"]
    assert race["statuses"] == {"204": 48}, race
    assert race["acknowledged"] == 48
    assert race["lost"] == race["acknowledged"] - (race["final"] - race["initial"]) > 0
    assert run.check("precondition-required")["data"]["applied"] is True
    assert run.check("delete")["verdict"] == "fail"
    assert run.check("unique")["verdict"] == "pass"
    cleanup = run.report()["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0
    assert cleanup["left"] == []


@pytest.fixture(scope="module")
def post_update_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The POST-to-update app under uvicorn; its base URL."""
    with start_app(
        "tests.audit.post_update_app:create_app", tmp_path_factory.mktemp("post"), probe="/healthz"
    ) as url:
        yield url


def test_an_item_changed_by_a_post_to_its_url(post_update_api: str) -> None:
    """Redash's shape with --write-method POST: every write check and the race measured (the
    option did not exist: PUT and PATCH get 405, and no write check could run)."""
    run = audit(
        f"{post_update_api}/api/query_snippets",
        *("--body", '{"trigger": "audit {uid}", "description": "d", "snippet": "0"}'),
        *("--counter", "snippet", "--write-method", "POST", "--json"),
    )
    assert run.code == 1, run.stderr
    assert run.check("if-match")["data"]["stale_applied"] is True
    blind = run.check("precondition-required")
    assert blind["verdict"] == "fail"
    assert blind["evidence"][0].startswith("POST without If-Match"), blind
    assert blind["data"] == {"status": 200, "applied": True}
    race = run.check("lost-update")["data"]
    assert race["statuses"] == {"200": 48}, race
    assert race["lost"] == race["acknowledged"] - (race["final"] - race["initial"]) > 0
    assert run.check("delete")["verdict"] == "fail"
    cleanup = run.report()["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0
    assert (cleanup["left"], cleanup["unanswered_posts"]) == ([], 0)


def test_a_405_that_allows_post_names_the_option(post_update_api: str) -> None:
    """Redash's shape audited with the default PUT: 405, and the Allow header's POST is
    named as the option to pass (the report said only that the API does not take it)."""
    run = audit(
        f"{post_update_api}/api/query_snippets",
        *("--body", '{"trigger": "audit {uid}", "description": "d", "snippet": "0"}'),
        *("--counter", "snippet", "--json"),
    )
    if_match = run.check("if-match")
    assert if_match["verdict"] == "skipped"
    (said,) = if_match["evidence"]
    assert "-> 405: the API does not take it (Allow: " in said, said
    assert said.endswith(": pass --write-method POST)"), said
    assert run.report()["cleanup"]["left"] == []
