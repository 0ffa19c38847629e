"""The `httpconflict` tools: diagnose, routes, audit, logs.

Each tool is a subpackage with a ``command`` module defining
``register(commands)``: it adds its subcommand to the CLI's argparse
subparsers and sets ``run`` (``args -> exit code``) as the parser's
default. ``command`` modules import argparse only, so ``httpconflict
--help`` stays fast; what a tool needs (rich, httpx, a framework) is
imported when it runs. `register_all` finds the tools by listing this
package, in name order.

Shared conventions (_output.py): terminal output with rich, ``--json``
for machines, and exit codes fit for CI: 0 when all is well, 1 when the
tool found a problem (or, for diagnose, did not recognise its input),
2 for bad usage, 3 when the tool itself could not do its job.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Any

__all__ = ["register_all"]


def register_all(commands: argparse._SubParsersAction[Any]) -> None:
    """Add every tool's subcommand to the CLI."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.ispkg and not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}.command")
            module.register(commands)
