"""Deliberate overrides accepted in the scanned project's pyproject.toml: shown apart with
their reasons, exit 0; what the table must say, and what it may not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from httpconflict.tools.routes._accept import SettingsError, read_settings, split

from .apps import twice
from .findings import findings_of, routes_command

OVERRIDE = "tests.routes.apps.pypi_django.settings"
HEALTHCHECKS = {"ROUTES_URLCONF": "override_urls"}
TABLE = "[tool.httpconflict.routes]"
ACCEPT = "[tool.httpconflict.routes.accept]"

TWICE = "tests.routes.apps.twice:app"


def _project(root: Path, table: str) -> Path:
    """A project folder with `table` in its pyproject.toml."""
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "site"\n\n{table}\n')
    return root


def test_healthchecks_override_is_found_then_accepted(tmp_path: Path) -> None:
    """Its own admin/login/ before Django admin's: reported, with the key that accepts it;
    accepted with a reason, the run exits 0 and the report keeps it, apart, with the reason."""
    bare = _project(tmp_path / "bare", "")
    out = routes_command(OVERRIDE, "--json", "--app-dir", str(bare), env=HEALTHCHECKS)
    assert out.returncode == 1, out.stderr
    (finding,) = json.loads(out.stdout)["findings"]
    assert (finding["route"]["name"], finding["accept_key"]) == ("admin:login", "* /admin/login/")

    project = _project(
        tmp_path / "site",
        f'{ACCEPT}\n"/admin/login/" = "our login replaces the admin\'s"',
    )
    out = routes_command(OVERRIDE, "--json", "--app-dir", str(project), env=HEALTHCHECKS)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["findings"] == []
    (accepted,) = report["accepted"]
    assert accepted["route"]["name"] == "admin:login"
    assert accepted["accepted"] == {
        "key": "/admin/login/",
        "reason": "our login replaces the admin's",
    }
    assert report["settings"] == str(project / "pyproject.toml")

    table = routes_command(OVERRIDE, "--app-dir", str(project), env=HEALTHCHECKS)
    assert table.returncode == 0
    assert "deliberate overrides" in table.stdout
    assert "our login replaces the admin's" in table.stdout
    assert "no problems found (1 accepted)" in table.stdout


@pytest.mark.parametrize(
    ("key", "accepted"),
    [
        pytest.param("GET,POST /report", True, id="every-method-lost-named"),
        pytest.param("* /report", True, id="star"),
        pytest.param("/report", True, id="no-method-is-every-method"),
        pytest.param("GET /report", False, id="POST-lost-too-not-accepted"),
        pytest.param("GET,POST /other", False, id="another-path"),
    ],
)
def test_an_acceptance_names_the_path_and_every_method_lost(
    tmp_path: Path, key: str, accepted: bool
) -> None:
    """A finding is accepted only by its own path and all the methods it loses."""
    project = _project(tmp_path, f'{ACCEPT}\n"{key}" = "v2 replaces v1"')
    settings = read_settings(project)
    still, taken, unused = split(findings_of(twice.app), settings.accept)
    assert (len(still), len(taken), len(unused)) == ((0, 1, 0) if accepted else (1, 0, 1))


def test_an_acceptance_that_matches_nothing_is_noted(tmp_path: Path) -> None:
    """An acceptance for a route no longer lost: a note says so; the open finding still fails."""
    project = _project(tmp_path, f'{ACCEPT}\n"/gone" = "old override"')
    out = routes_command(TWICE, "--app-dir", str(project))
    assert out.returncode == 1
    assert "'/gone'" in out.stdout
    assert "matches no finding" in out.stdout
    # The hint names the key that would accept the open finding.
    assert '"GET,POST /report" = "why"' in out.stdout


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(f'{ACCEPT}\n"GET /report" = ""', "needs a reason", id="empty-reason"),
        pytest.param(f'{ACCEPT}\n"GET /report" = 1', "needs a reason", id="reason-not-text"),
        pytest.param(f'{ACCEPT}\n"GET" = "why"', 'is not "METHOD /path"', id="no-path"),
        pytest.param(f'{ACCEPT}\n"get /report" = "why"', "upper case", id="lower-method"),
        pytest.param(f'{ACCEPT}\n"GET /a /b" = "why"', "is not", id="three-words"),
        pytest.param(f"{TABLE}\nacept = {{}}", "no setting 'acept'", id="typo"),
        pytest.param(f'{TABLE}\naccept = ["GET /x"]', "accept must be a table", id="a-list"),
        pytest.param("[tool.httpconflict]\nroutes = 3", "is not a table", id="not-a-table"),
        pytest.param("[tool.httpconflict.routes", "cannot be read", id="not-toml"),
    ],
)
def test_a_bad_routes_table_is_refused(tmp_path: Path, table: str, message: str) -> None:
    """A key that is not METHOD /path, a missing reason, an unknown setting, accept as a
    list, the table as a value, broken TOML: refused, naming the file."""
    project = _project(tmp_path, table)
    with pytest.raises(SettingsError, match=re.escape(message)) as refused:
        read_settings(project)
    assert str(refused.value).startswith(f"{project / 'pyproject.toml'}: ")


def test_a_bad_routes_table_is_a_usage_error(tmp_path: Path) -> None:
    """The command exits 2 with the message, before loading the app."""
    project = _project(tmp_path, f'{ACCEPT}\n"GET /report" = ""')
    out = routes_command(TWICE, "--app-dir", str(project))
    assert out.returncode == 2
    assert out.stderr.startswith(f"httpconflict routes: {project / 'pyproject.toml'}: ")
    assert "needs a reason" in out.stderr
    assert out.stdout == ""


def test_the_nearest_pyproject_above_the_app_dir(tmp_path: Path) -> None:
    """--app-dir below the project root: its pyproject.toml is found above it."""
    project = _project(tmp_path, f'{ACCEPT}\n"/report" = "v2 replaces v1"')
    (project / "src").mkdir()
    out = routes_command(TWICE, "--json", "--app-dir", str(project / "src"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["settings"] == str(project / "pyproject.toml")
