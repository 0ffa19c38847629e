"""Running `httpconflict logs`: in this process (its subcommand alone) or as the real command."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from httpconflict.tools.logs.command import register


def logs(*argv: str) -> int:
    """Run ``httpconflict logs ARGV`` in this process; its exit code.

    The parser holds the logs subcommand only, as `httpconflict.cli` builds
    it, so these tests do not depend on the other tools.
    """
    parser = argparse.ArgumentParser(prog="httpconflict")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["logs", *argv])
    code: int = args.run(args)
    return code


def logs_json(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> dict[str, Any]:
    """The ``--json`` report of a run that must exit with `code`."""
    capsys.readouterr()
    assert logs(*argv, "--json") == code
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def cli(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real ``httpconflict logs`` command as a process."""
    return subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "logs", *argv],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def rows(report: dict[str, Any], table: str, key: str) -> dict[tuple[str | None, int], int]:
    """A by-key table of the JSON report as {(key, status): count}, zero counts left out."""
    return {
        (row[key], status): row[str(status)]
        for row in report[table]
        for status in (409, 412, 428)
        if row[str(status)]
    }


def timeline(report: dict[str, Any]) -> dict[tuple[str | None, int], int]:
    """The JSON report's timeline as {(bucket start, status): count}."""
    return {
        (bucket["start"], status): bucket[str(status)]
        for bucket in report["timeline"]
        for status in (409, 412, 428)
        if bucket[str(status)]
    }


def causes(report: dict[str, Any]) -> dict[tuple[str | None, int], int]:
    return {(c["problem"], c["status"]): c["count"] for c in report["causes"]}
