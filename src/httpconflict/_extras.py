"""Optional dependencies: which extra brings each, and the one-line error when it is missing.

Theory of operation: the core imports the standard library only, and each
adapter, store or command needs its own third-party package, installed
with one of the package's extras (``pip install 'httpconflict[fastapi]'``).
When one is missing, Python's own error (``No module named 'fastapi'``)
names a module, not what to install. `require` is called by a module
before its optional imports and raises `MissingExtra` naming the extra;
the command line turns any missing module it knows (`EXTRA_OF`) into one
line saying the same, never a traceback.
"""

from __future__ import annotations

import importlib
from typing import Final

#: The extra that brings each optional top-level module, as the command
#: line names it (the client, httpx, is the tools' here: only they use it).
EXTRA_OF: Final = {
    "uvicorn": "service",
    "starlette": "service",
    "jwt": "service",
    "cryptography": "service",
    "rich": "tools",
    "httpx": "tools",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "redis": "redis",
    "fastapi": "fastapi",
    "django": "django",
    "rest_framework": "drf",
    "flask": "flask",
    "werkzeug": "flask",
    "wtforms": "flask-forms",
    "sqlalchemy": "sqlalchemy",
}


class MissingExtra(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra that brings it.

    A `ModuleNotFoundError` (hence an `ImportError`), so code that guards an
    optional import with either still catches it.
    """

    def __init__(self, user: str, extra: str, module: str) -> None:
        super().__init__(missing_extra_message(user, extra), name=module)
        self.extra = extra


def missing_extra_message(user: str, extra: str) -> str:
    """The one line telling the user of `user` what to install."""
    return f"{user} needs the {extra!r} extra: pip install 'httpconflict[{extra}]'"


def missing_extra(error: ModuleNotFoundError, extra: str, user: str) -> MissingExtra:
    """The `MissingExtra` for `error`, raised by importing what `extra` brings, for `user`.

    For a module's first import of its optional dependency::

        try:
            import fastapi  # noqa: F401  # first: without it, the error names the extra
        except ModuleNotFoundError as error:
            from ._extras import missing_extra

            raise missing_extra(error, "fastapi", __name__) from None
    """
    return MissingExtra(user, extra, error.name or extra)


def require(*modules: str, extra: str, user: str) -> None:
    """Import `modules`, or raise `MissingExtra` naming `extra` for the first one missing.

    Only the module itself missing counts: a module that is there but fails
    to import (a missing dependency of its own) raises its own error.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name is None or error.name.split(".")[0] != module.split(".")[0]:
                raise
            raise MissingExtra(user, extra, module) from None
