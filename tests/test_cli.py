"""The `httpconflict` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from httpconflict.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_serve() -> None:
    """--help names the serve command and its options."""
    out = run("serve", "--help")
    assert out.returncode == 0
    for option in ("--db", "--host", "--port", "--workers", "--log-format", "--blind-writes"):
        assert option in out.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the installed version."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("httpconflict ")


def test_unreachable_database_fails_fast() -> None:
    """A --db nobody answers at fails at once with one clear line, exit status 1."""
    out = run("serve", "--db", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert out.returncode == 1
    assert out.stderr.startswith("httpconflict serve: ")
    assert "Traceback" not in out.stderr


def test_unknown_database_scheme(tmp_path: Path) -> None:
    """An unsupported URL scheme is named in the error."""
    out = run("serve", "--db", "mysql://root@127.0.0.1/test")
    assert out.returncode == 1
    assert "unsupported database URL scheme 'mysql'" in out.stderr


def test_bad_settings_are_refused() -> None:
    """Nonsense settings are refused before anything starts."""
    out = run("serve", "--history", "0")
    assert out.returncode == 1
    assert "history must be at least 1" in out.stderr
