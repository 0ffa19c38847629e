"""APIs that keep each resource inside a member of their answers: CTFd's ``data``, the
RealWorld spec's ``article`` (tests/audit/envelope_app.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.audit.invoke import audit
from tests.servers import start_app

CHALLENGE = '{"name": "audit {uid}", "category": "audit", "value": 0}'
ARTICLE = '{"article": {"title": "audit {uid}", "description": "d", "body": "0"}}'


@pytest.fixture(scope="module")
def envelope_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The envelope app under uvicorn; its base URL."""
    with start_app(
        "tests.audit.envelope_app:create_app", tmp_path_factory.mktemp("envelope"), probe="/healthz"
    ) as url:
        yield url


def _race_counted(race: dict[str, Any]) -> None:
    """48 writes acknowledged, and the lost ones counted exactly."""
    data = race["data"]
    assert data["acknowledged"] == 48
    assert data["lost"] == data["acknowledged"] - data["final"] > 0


def test_answers_in_a_data_member_are_read_there(envelope_api: str) -> None:
    """CTFd's shape: the resource is found in the answers' "data" member without being told,
    the report says so, the race counts exactly, and every test resource is deleted."""
    run = audit(
        f"{envelope_api}/api/v1/challenges",
        *("--body", CHALLENGE, "--counter", "value", "--write-method", "PATCH", "--json"),
    )
    assert run.code == 1, run.stderr
    report = run.report()
    assert any("'data'" in note for note in report["notes"]), report["notes"]
    race = run.check("lost-update")
    assert race["verdict"] == "fail", race["evidence"]
    _race_counted(race)
    assert run.check("precondition-required")["verdict"] == "fail"
    cleanup = report["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0
    assert cleanup["left"] == []
    assert cleanup["unlocated"] == 0


def test_requests_wrapped_like_the_body_with_envelope(envelope_api: str) -> None:
    """The RealWorld shape with --envelope article: the body given wrapped, every write is
    wrapped too, answers are read inside "article", items named by their slug."""
    run = audit(
        f"{envelope_api}/api/articles",
        *("--body", ARTICLE, "--envelope", "article", "--id-field", "slug"),
        *("--counter", "body", "--json"),
    )
    assert run.code == 1, run.stderr
    report = run.report()
    race = run.check("lost-update")
    assert race["verdict"] == "fail", race["evidence"]
    _race_counted(race)
    if_match = run.check("if-match")
    assert if_match["data"]["stale_applied"] is True, if_match
    cleanup = report["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] > 0
    assert cleanup["left"] == []
    assert cleanup["unlocated"] == 0


def test_a_wrapped_body_without_envelope_says_what_to_pass(envelope_api: str) -> None:
    """A body wrapped in the member the answers keep the resource in, without --envelope:
    exit 3 naming --envelope article (a flat write would be refused for its shape, not its
    version), and the resource made is deleted."""
    run = audit(
        f"{envelope_api}/api/articles",
        *("--body", ARTICLE, "--id-field", "slug", "--counter", "body", "--json"),
    )
    assert run.code == 3, run.stdout
    assert "--envelope article" in run.stderr
    cleanup = run.report()["cleanup"]
    assert cleanup["deleted"] == cleanup["created"] == 1
