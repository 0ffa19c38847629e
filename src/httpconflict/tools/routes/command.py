"""``httpconflict routes MODULE:APP``: find the routes an app never serves."""

from __future__ import annotations

import argparse
from typing import Any

from .._arguments import directory, whole_number


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the ``routes`` subcommand."""
    parser = commands.add_parser(
        "routes",
        help="find duplicate, shadowed and overlapping routes in an app",
        description=(
            "Load a FastAPI/Starlette, Flask or Django app and report the routes it never "
            "serves: exact duplicates, routes shadowed by an earlier parameter or catch-all "
            "route, duplicates whose OpenAPI document shows the handler that is not served, "
            "and mounts that take other routes' paths. A deliberate override is accepted, "
            "with its reason, in the project's pyproject.toml: [tool.httpconflict.routes.accept] "
            '"METHOD /path" = "reason". Exit status 1 when there are findings not accepted, '
            "2 when the accept table is wrong, 3 when the app cannot be loaded."
        ),
    )
    parser.add_argument(
        "app",
        metavar="MODULE:APP",
        help="the app, as uvicorn takes it (pkg.main:app, pkg.main:create_app(), "
        "or a Django settings module such as mysite.settings)",
    )
    parser.add_argument(
        "--app-dir",
        type=directory,
        default=".",
        metavar="DIR",
        help="look for MODULE in DIR first, and for the project's pyproject.toml in DIR "
        "or above it (default: the current directory)",
    )
    parser.add_argument(
        "--load-timeout",
        type=whole_number(1, 3600),
        default=60,
        metavar="SECONDS",
        help="give up loading the app after SECONDS: a module that starts a server when "
        "imported never returns (default: 60)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from ._run import run

    return run(args)
