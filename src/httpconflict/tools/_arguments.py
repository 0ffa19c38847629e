"""Argument types every command shares: each refuses a bad value with argparse's exit 2.

argparse turns the `argparse.ArgumentTypeError` a type raises into one
line naming the option (``argument --port: must be from 1 to 65535, not
99999``) and exit status 2, before anything starts: no value a user can
type ends in a traceback, or in a server that listens somewhere other
than it says.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

#: TCP ports a server can listen on (0 would be "any free port", never announced).
PORTS: Final = (1, 65535)


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A type accepting whole numbers from `low` (to `high`, if given)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse_error(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse_error(f"must be {bounds}, not {value}")
        return value

    return parse


def seconds(*, zero: bool = False, most: float | None = None) -> Callable[[str], float]:
    """A type accepting a finite number of seconds, more than 0 (or 0 too, if `zero`)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse_error(f"not a number of seconds: {text!r}") from None
        low = "at least 0" if zero else "more than 0"
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse_error(f"must be {low}, not {text}")
        if most is not None and value > most:
            raise argparse_error(f"must be {low} and at most {most:g}, not {text}")
        return value

    return parse


def positive_number(text: str) -> float:
    """A finite number more than 0 (a factor, a ratio)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse_error(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse_error(f"must be more than 0: {text}")
    return value


def port(text: str) -> int:
    """A TCP port a server can listen on."""
    return whole_number(*PORTS)(text)


def name(text: str) -> str:
    """A name: printable text without spaces."""
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        raise argparse_error(f"must be printable text without spaces, not {text!r}")
    return text


def host(text: str) -> str:
    """A host name or address to listen on (its form is checked where hosts are parsed)."""
    if not text or any(c.isspace() for c in text):
        raise argparse_error(f"not a host name or address: {text!r}")
    return text


def output_file(text: str) -> str:
    """A file the command can write: not a directory, in a directory that exists and is writable.

    Checked before the command does its work, so a report is not lost to a
    typo in its file name at the end.
    """
    if Path(text).is_dir():
        raise argparse_error(f"{text} is a directory, not a file")
    if (problem := unwritable(text)) is not None:
        raise argparse_error(f"cannot write {text}: {problem}")
    return text


def unwritable(path: str) -> str | None:
    """Why a file could not be written (made, or changed) at `path`; None if it could.

    Its directory must exist and take new files (a journal, beside a
    SQLite file); an existing file must be readable and writable.
    """
    file = Path(path)
    parent = file.parent
    if not parent.is_dir():
        return f"there is no directory {str(parent)!r}"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write in the directory {str(parent)!r}"
    if file.exists() and not os.access(file, os.R_OK | os.W_OK):
        return "permission denied"
    return None


def directory(text: str) -> str:
    """A directory that exists."""
    if not Path(text).is_dir():
        raise argparse_error(f"no such directory: {text}")
    return text


def argparse_error(message: str) -> argparse.ArgumentTypeError:
    """The error a type raises: argparse prints it after the option's name, and exits 2."""
    return argparse.ArgumentTypeError(message)
