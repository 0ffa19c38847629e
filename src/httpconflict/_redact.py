"""Credentials out of text bound for a log or a console.

Theory of operation: a database or Redis location carries its password
(``postgresql://u:secret@h/db``, ``host=h password=secret``,
``redis://:secret@h``, ``...?password=secret``), and that location
travels: into the start-up line, into a driver's error message, into an
incident's log line. `redact` masks every password such text can hold in
two ways, because neither is enough alone:

- by its shape: the password part of any URL's userinfo, and the value of
  any ``password=`` (a libpq keyword, a query parameter), whoever's it is;
- by its value: the passwords of the service's own locations
  (`secrets_in`), wherever they appear, since a driver may quote one
  without its context (psycopg says ``unexpected spaces found in "pass word"``).

`RedactingFilter` applies it to every record a logging handler writes,
exception text included, so no log line depends on its writer remembering.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote, urlsplit

MASK: Final = "***"

# RFC 3986 §3.2.1: userinfo = *( unreserved / pct-encoded / sub-delims / ":" ),
# "user:password" by the deprecated convention every driver still reads.
# The password runs to the LAST "@" before a space: an unescaped "@" in a
# password is common, and masking a host too is the safe way to be wrong.
_URL_PASSWORD: Final = re.compile(
    r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<secret>\S*)(?=@)"
)
_WHOLE_URL_PASSWORD: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*://[^:/@]*:(?P<secret>.*)@", re.DOTALL
)
# libpq keyword strings (password='a b', sslpassword=x) and query parameters
# (?password=x&...): a quoted value may hold spaces and escaped quotes.
_KEYWORD_PASSWORD: Final = re.compile(
    r"(?P<keep>\b\w*passw(?:or)?d\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|[^\s&'\"]+)",
    re.IGNORECASE,
)


def secrets_in(location: str) -> frozenset[str]:
    """The passwords a database or Redis location holds, as written and percent-decoded."""
    found: set[str] = set()
    whole = _WHOLE_URL_PASSWORD.match(location)
    if whole is not None:
        # The location is one URL: its password runs to its last "@",
        # spaces included, and so does the URL's own reading of it.
        found.add(whole["secret"])
        with contextlib.suppress(ValueError):  # not a URL after all (an unclosed "[")
            found.add(urlsplit(location).password or "")
    for pattern in (_URL_PASSWORD, _KEYWORD_PASSWORD):
        for match in pattern.finditer(location):
            secret = match["secret"]
            if secret.startswith("'"):
                secret = re.sub(r"\\(.)", r"\1", secret.strip("'"))
            found.add(secret)
    return frozenset(s for secret in found for s in (secret, unquote(secret)) if s)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every password it holds replaced by ``***``."""
    text = _URL_PASSWORD.sub(rf"\g<keep>{MASK}", text)
    text = _KEYWORD_PASSWORD.sub(rf"\g<keep>{MASK}", text)
    # Longest first: a secret inside another must not leave the other's rest.
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A handler's filter: every record goes out with its passwords masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = frozenset(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: logging reports it itself
            return True
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True
