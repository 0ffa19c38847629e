"""Where the service keeps its data, checked before it starts: --db and --idempotency.

A location is checked for what can be known without opening it: a URL's
scheme and port, and for a SQLite file, that it is not a directory and
that its directory exists and can be written (SQLite writes a journal
beside the file). What can be known only by connecting (a server that is
down, a wrong password) is left to the start-up's own check, which
reports it too, but as a failure to start rather than a usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from ..tools._arguments import unwritable

#: SQLite names of a database private to one connection: no file to check.
PRIVATE_SQLITE: Final = frozenset({"", ":memory:", "sqlite:///", "sqlite:///:memory:"})
_POSTGRES: Final = ("postgresql://", "postgres://")
_REDIS: Final = ("redis://", "rediss://", "unix://")
#: --idempotency values that name no location.
KEY_STORE_WORDS: Final = ("db", "memory", "off")


def check_database(location: str) -> None:
    """Raise `ValueError`, naming the location, if it cannot be a database."""
    if location in PRIVATE_SQLITE:
        return
    if location.startswith(_POSTGRES):
        _check_url(location)
        return
    if "://" in location and not location.startswith("sqlite://"):
        scheme = location.split("://", 1)[0]
        raise ValueError(
            f"{location}: unsupported database URL scheme {scheme!r}; "
            "use a SQLite file path or postgresql://"
        )
    _check_sqlite_file(location.removeprefix("sqlite:///"))


def check_key_store(location: str) -> None:
    """Raise `ValueError` if `location` is no idempotency-key store.

    A SQLite file must look like one (``sqlite:///keys.db``, or a path with
    a ``/``, such as ``./keys.db``): a bare word is far more often a typo
    of ``db`` or ``memory`` than a file meant to be made.
    """
    if location in KEY_STORE_WORDS or location in PRIVATE_SQLITE:
        return
    if location.startswith(_POSTGRES + _REDIS):
        _check_url(location)
        return
    if location.startswith("sqlite:///") or ("/" in location and "://" not in location):
        _check_sqlite_file(location.removeprefix("sqlite:///"))
        return
    raise ValueError(
        f"{location!r} is not a key store: give db, memory, off, "
        "redis://host:port/n, postgresql://... or a SQLite file (sqlite:///keys.db or ./keys.db)"
    )


def _check_url(location: str) -> None:
    try:
        urlsplit(location).port  # noqa: B018  # raises for a port that is no port
    except ValueError as error:
        raise ValueError(f"{location}: {error}") from None


def _check_sqlite_file(path: str) -> None:
    if Path(path).is_dir():
        raise ValueError(f"{path} is a directory: give a SQLite file's path")
    if (problem := unwritable(path)) is not None:
        raise ValueError(f"{path}: {problem}")
