"""``httpconflict routes``: load the app, read its routes, apply the rules, report."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from .._output import FAILED, FOUND, OK, USAGE, console, print_json
from ._accept import read_settings, split
from ._model import RouteTable
from ._report import RoutesReport, as_json, render
from ._rules import find_problems
from ._target import App, TargetError, load, parse_target


def run(args: argparse.Namespace) -> int:
    """Report the app's unreachable routes; FOUND when there are any not accepted."""
    try:
        target = parse_target(args.app)
        settings = read_settings(args.app_dir)
    except ValueError as error:  # SettingsError too: the project's table is wrong
        return _fail(str(error), USAGE)
    # As uvicorn does: MODULE is looked for in --app-dir, first.
    sys.path.insert(0, os.path.abspath(args.app_dir))
    try:
        # The app's own prints must not mix with the report (--json above all).
        too_long = (
            f"loading {args.app} took over {args.load_timeout} s: does the module start a "
            "server (uvicorn.run, app.run) when imported? Put that under `if __name__ == "
            '"__main__":`'
        )
        with contextlib.redirect_stdout(sys.stderr), _deadline(args.load_timeout, too_long):
            table = routes_of(load(target))
    except TargetError as error:
        return _fail(str(error), FAILED)
    except SystemExit as error:
        # The app's exit is not the tool's: its 0 would pass a CI step that checked nothing.
        return _fail(
            f"loading {args.app} exited (sys.exit({error.code!r})) before any route was read: "
            "the module runs its program when imported; put that under "
            '`if __name__ == "__main__":`, or name a module that only builds the app'
        )
    except Exception as error:  # the app's own code runs here: report any failure in one line
        return _fail(f"reading the routes of {args.app} failed: {type(error).__name__}: {error}")
    findings, accepted, unused = split(find_problems(table), settings.accept)
    report = RoutesReport(args.app, table, findings, accepted, unused, settings.file)
    if args.json:
        print_json(as_json(report))
    else:
        render(console(), report)
    return FOUND if findings else OK


def routes_of(found: App) -> RouteTable:
    """The route table of an app, by its framework."""
    if found.framework == "starlette":
        from ._starlette import load_starlette

        return load_starlette(found.app)
    if found.framework == "flask":
        from ._flask import load_flask

        return load_flask(found.app, found.dispatchers)
    from ._django import load_django

    return load_django(found.app)


@contextlib.contextmanager
def _deadline(seconds: int, message: str) -> Iterator[None]:
    """Exit 3 with `message` if the block runs past `seconds` (SIGALRM: Unix, main thread).

    At once, with ``os._exit``: the block is the app's import, which may be running a
    server's event loop, and such a loop (uvloop) logs an exception raised in a signal
    handler and runs on.
    """
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        _fail(message)
        sys.stderr.flush()
        os._exit(FAILED)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fail(message: str, status: int = FAILED) -> int:
    print(f"httpconflict routes: {message}", file=sys.stderr)
    return status
