"""The `audit` subcommand: its options, its usage errors, and exit status 3."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.audit.invoke import audit, parser
from tests.servers import free_port


def test_the_command_module_imports_no_optional_dependency() -> None:
    """Registering the subcommand (as `httpconflict --help` does) loads neither httpx nor rich."""
    code = (
        "import argparse, sys, json\n"
        "from httpconflict.tools.audit import command\n"
        "command.register(argparse.ArgumentParser().add_subparsers())\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert not loaded & {"httpx", "rich", "httpcore", "anyio", "starlette", "matplotlib"}


def test_help_names_the_options_and_the_weights(capsys: pytest.CaptureFixture[str]) -> None:
    """--help lists the bounds, the outputs, the weights and the exit statuses."""
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["audit", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--max-requests", "--timeout", "--json", "--html", "--unique", "--body"):
        assert option in text
    assert "lost-update 25" in text
    assert "exit status: 0 no check failed, 1 a check failed" in text


def test_unreachable_api_exits_3() -> None:
    """Nobody listening: exit 3, one line on stderr, and the error in --json."""
    url = f"http://127.0.0.1:{free_port()}/v1/notes"
    run = audit(url, "--json", "--timeout", "5")
    assert run.code == 3
    assert run.stderr.startswith(f"httpconflict audit: cannot audit {url}: ")
    assert "cannot connect" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.report()["error"].startswith("POST ")


def test_a_bad_body_template_is_a_usage_error() -> None:
    """--body that is not a JSON object: exit 2 before any request."""
    run = audit("http://127.0.0.1:9/v1/notes", "--body", "[1, 2]")
    assert run.code == 2
    assert "must be a JSON object" in run.stderr


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--writers", "1"], id="writers-below-2"),
        pytest.param(["--max-requests", "5"], id="max-requests-below-30"),
        pytest.param(["--timeout", "0"], id="timeout-zero"),
        pytest.param(["--rounds", "many"], id="rounds-not-a-number"),
    ],
)
def test_out_of_range_options_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Unbounded or nonsense bounds are refused by argparse (exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["audit", "http://127.0.0.1:9/v1/notes", *argv])
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err
