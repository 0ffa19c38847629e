"""The ``diagnose`` subcommand's arguments (argparse only: imported by ``--help``)."""

from __future__ import annotations

import argparse
from typing import Any

from .._arguments import output_file


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "diagnose",
        help="explain a 409/412/428 error: what conflicted, why, how to fix it",
        description=(
            "Read an error as you have it (an error message, a Python or Java traceback, "
            "curl -i output, a raw HTTP response, a HAR file, a problem+json body) and say "
            "what conflicted, the likely cause, and the fix, step by step. Exit status: "
            "0 recognised, 1 not recognised, 2 bad usage, 3 the input could not be read."
        ),
    )
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help=(
            "the file to read, or the error message itself (quoted); "
            "- (the default) reads standard input"
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    parser.add_argument(
        "--html",
        type=output_file,
        metavar="PAGE",
        help="also write a self-contained troubleshooting page (HTML) to PAGE",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the errors diagnose knows, and exit"
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from .run import run

    return run(args)
