"""The service's grants (`--grant RIGHT=GRANTEE`): parsed at start, carried to every worker."""

from __future__ import annotations

import pytest

from httpconflict._principal import Principal, Right
from httpconflict.cli import main
from httpconflict.service.config import ServiceConfig


def test_without_grants_only_role_admin_holds_a_right() -> None:
    """Locked by default: role admin is admin everywhere, any other principal holds nothing."""
    grants = ServiceConfig().access_grants
    assert grants.right_of(Principal("token:ops", frozenset({"admin"}))) is Right.ADMIN
    assert grants.right_of(Principal("token:other", frozenset({"writer"}))) is None


def test_grants_travel_to_workers_through_the_environment() -> None:
    """Several grants survive the trip through HTTPCONFLICT_GRANTS to each worker."""
    config = ServiceConfig(
        grants="read=authenticated\nwrite=role:writer", auth="jwt", jwt_secret="x" * 32
    )
    again = ServiceConfig.from_env(config.to_env())
    assert again.access_grants == config.access_grants
    assert again.access_grants.right_of(Principal("jwt:x", frozenset({"writer"}))) is Right.WRITE


def test_a_bad_grant_stops_the_service_before_it_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`serve --grant read` exits 2 (a usage error) with one line saying what a grant looks like."""
    assert main(["serve", "--db", ":memory:", "--grant", "read"]) == 2
    assert "RIGHT=GRANTEE" in capsys.readouterr().err


def test_grants_without_authentication_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """`--grant` without `--auth` names no one (every caller is anonymous): refused at start."""
    assert main(["serve", "--db", ":memory:", "--grant", "read=role:reader"]) == 2
    assert "--grant needs --auth" in capsys.readouterr().err
