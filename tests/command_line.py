"""Running the real `httpconflict` command (or Python) in a process of its own, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def python(
    *argv: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str = "",
    path: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGV``; the process imports this checkout's code (`path` first)."""
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=60,
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
