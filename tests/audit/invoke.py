"""Run ``httpconflict audit`` in this process, through its own `register`, and read the result.

The subcommand is driven through the parser its ``command.register``
builds, the same one ``httpconflict`` gets from `register_all`, so these
tests do not depend on the other tools' subcommands.
"""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

from httpconflict.tools.audit import command


@dataclass(frozen=True)
class AuditRun:
    """The exit status and the output of one audit."""

    code: int
    stdout: str
    stderr: str

    def report(self) -> dict[str, Any]:
        """The ``--json`` report."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def check(self, check_id: str) -> dict[str, Any]:
        """One check of the ``--json`` report."""
        found = [c for c in self.report()["checks"] if c["id"] == check_id]
        assert len(found) == 1, f"no check {check_id!r} in {self.stdout}"
        result: dict[str, Any] = found[0]
        return result

    def verdicts(self) -> dict[str, str]:
        """Check id -> verdict."""
        return {c["id"]: c["verdict"] for c in self.report()["checks"]}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="httpconflict")
    command.register(top.add_subparsers(dest="command", required=True))
    return top


def audit(*argv: str) -> AuditRun:
    """``httpconflict audit ARGV...`` with its stdout and stderr captured."""
    args = parser().parse_args(["audit", *argv])
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = args.run(args)
    return AuditRun(code, out.getvalue(), err.getvalue())
