"""Many `httpconflict` command lines, each in a process of its own, for the price of one import.

    python -m tests.forked_cli < CASES.json > ANSWERS.json

CASES is a list of ``{"args": [...], "cwd": DIR}``; each answer is
``{"status": N, "stdout": ..., "stderr": ...}``, in the same order. This
process imports the command line once, then forks a child per case; the
child changes to the case's directory, runs ``main`` with the case's
arguments and ends with the status ``python -m httpconflict.cli`` would
(an uncaught exception prints its traceback and is status 1). Started as
``python -m httpconflict.cli`` each, 80 refused command lines cost 16 s of
CPU, nearly all of it importing the CLI 80 times. Single-threaded, so
forking it is safe; a few children run at once.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from httpconflict.cli import main

#: Children running at once.
AT_ONCE = 4
#: Seconds a child may take before it is ended (SIGALRM), as `python`'s timeout.
TIMEOUT = 60


def exit_status(args: list[str]) -> int:
    """What the interpreter would exit with after ``sys.exit(main(args))``."""
    try:
        sys.exit(main(args))
    except SystemExit as done:
        if done.code is None:
            return 0
        if isinstance(done.code, int):
            return done.code
        print(done.code, file=sys.stderr)
        return 1
    except BaseException:  # the interpreter's own last resort, as printed by it
        traceback.print_exc()
        return 1


def child(case: dict[str, Any], out: Path, err: Path) -> None:
    """Run one case in this (forked) process, its output into `out` and `err`; never returns."""
    status = 1
    try:
        signal.alarm(TIMEOUT)
        os.chdir(case["cwd"])
        for path, fd in ((out, 1), (err, 2)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        status = exit_status(list(case["args"]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="httpconflict-forked-") as tmp:
        outputs = [(Path(tmp) / f"{i}.out", Path(tmp) / f"{i}.err") for i in range(len(cases))]
        running: dict[int, int] = {}
        statuses: dict[int, int] = {}
        for i, case in enumerate(cases):
            while len(running) >= AT_ONCE:
                pid, wait = os.wait()
                statuses[running.pop(pid)] = os.waitstatus_to_exitcode(wait)
            pid = os.fork()
            if pid == 0:
                child(case, *outputs[i])
            running[pid] = i
        while running:
            pid, wait = os.wait()
            statuses[running.pop(pid)] = os.waitstatus_to_exitcode(wait)
        return [
            {"status": statuses[i], "stdout": out.read_text(), "stderr": err.read_text()}
            for i, (out, err) in enumerate(outputs)
        ]


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
