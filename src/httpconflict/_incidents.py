"""Incidents: a failure logged once, under an id that the client's answer carries.

A client is told what failed in words ("the database does not answer")
and an ``incident`` id; the operator finds the rest (the exception, the
driver's own text, where it was raised) in ONE line of the
``httpconflict`` log carrying the same id. A driver's text stays out of
answers: it names hosts, users, files and SQL, which are no business of a
client, and it helps no client decide what to do. A traceback is not
logged either: one line per incident keeps a flood of failing requests
from becoming a flood of log (a recursion error's traceback is hundreds
of kilobytes), and the line names the frames that matter.

    raise unavailable("the database does not answer", error) from error
"""

from __future__ import annotations

import logging
import secrets
from typing import Final

from ._errors import Unavailable

log = logging.getLogger("httpconflict")

#: Characters of an exception's message kept in its log line.
MESSAGE_LIMIT: Final = 500
_PACKAGE: Final = "/httpconflict/"


def new_incident() -> str:
    """A fresh incident id: 12 hex digits, unique enough to find one line in a log."""
    return secrets.token_hex(6)


def describe(error: BaseException) -> str:
    """The exception on one line: its type, message, and where it was raised.

    The place is the innermost frame, and the innermost frame of
    httpconflict's own code when that is another one (a failure inside
    the json module says little without the line that called it).
    """
    kind = type(error)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not hide the incident
        message = "<message unavailable>"
    text = f"{name}: {one_line(message)}" if message else name
    frames = _frames(error)
    if frames:
        text += f" (at {frames})"
    return text


def log_incident(incident: str, summary: str, error: BaseException, *, level: int) -> None:
    """Write the incident's one line: its id, what the client was told, and the exception."""
    log.log(level, "incident %s: %s: %s", incident, one_line(summary), describe(error))


def unavailable(what: str, error: BaseException, *, retry_after: int = 1) -> Unavailable:
    """The 503 for a failing dependency: `what` in words, `error` logged under a new incident.

    `what` is all the client reads ("the database does not answer"); the
    driver's text goes to the log line that the answer's ``incident`` names.
    """
    incident = new_incident()
    log_incident(incident, f"503 {what}", error, level=logging.WARNING)
    return Unavailable(what, retry_after=retry_after, incident=incident)


def one_line(text: str) -> str:
    """`text` cut to MESSAGE_LIMIT characters, with line breaks and other controls escaped."""
    cut = text[:MESSAGE_LIMIT]
    # A lone surrogate (from a client's JSON) cannot be written to a UTF-8 log.
    line = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in cut)
    return line + ("..." if len(text) > MESSAGE_LIMIT else "")


def _frames(error: BaseException) -> str:
    innermost = own = None
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        innermost = (code.co_filename, tb.tb_lineno, code.co_name)
        if _PACKAGE in code.co_filename:
            own = innermost
        tb = tb.tb_next
    places = [innermost, own] if own is not None and own != innermost else [innermost]
    return ", from ".join(_place(*p) for p in places if p is not None)


def _place(filename: str, line: int, function: str) -> str:
    # Inside the package, its own path (httpconflict/storage/sqlite.py)
    # says more than the site-packages or checkout it was installed in.
    if _PACKAGE in filename:
        filename = "httpconflict/" + filename.rpartition(_PACKAGE)[2]
    return f"{filename}:{line} in {function}"
