"""Running the real `httpconflict` command (or Python) in a process of its own, as a user would
(or the command's `main` in this process, for what it says rather than how it runs)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from unittest import mock


def python(
    *argv: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str = "",
    path: tuple[str, ...] = (),
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGV``; the process imports this checkout's code (`path` first)."""
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        input=stdin,
        env={**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([*path, *sys.path])},
    )


def httpconflict(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str = "",
    path: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``httpconflict ARGS``, as `python` runs Python."""
    return python("-m", "httpconflict.cli", *args, cwd=cwd, env=env, stdin=stdin, path=path)


def in_this_process(
    *args: str, env: Mapping[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``httpconflict ARGS`` run by its `main` in this process, as `httpconflict` runs it in
    one of its own: the exit status (argparse's exit too), stdout and stderr; `stdin` is the
    standard input (not a terminal), `env` set in the environment meanwhile. For the tests
    of what a command says and answers, not of the process (each process imports the
    command line, 0.5 s of CPU; an uncaught exception is raised, not printed)."""
    from httpconflict.cli import main

    out, err = io.StringIO(), io.StringIO()
    given = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    with (
        mock.patch.dict(os.environ, env or {}),
        mock.patch.object(sys, "stdin", given),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            status = main(list(args))
        except SystemExit as done:  # argparse's exit, as the interpreter ends with it
            if done.code is None or isinstance(done.code, int):
                status = done.code or 0
            else:
                print(done.code, file=sys.stderr)
                status = 1
    return subprocess.CompletedProcess(list(args), status, out.getvalue(), err.getvalue())
