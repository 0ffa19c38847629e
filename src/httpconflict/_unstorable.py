"""Values a database cannot hold: a 422 saying so, never a 500.

Theory of operation: the JSON domain (`_json_domain`) refuses what no store
holds in the bodies the core parses, but an app's own models take values
the core never saw (FastAPI's and REST framework's parsers, path
parameters), and the database, the arbiter of what its columns hold,
refuses them as the statement is bound or run. Nothing was written: the
request asked for a value the database cannot store, a 422
``invalid-document`` (`unstorable_value`), read duck-typed from the error's
chain as `_integrity` and `_outage` read theirs, importing no driver:

- SQLite (the standard library's driver): an integer past 64 bits
  (``OverflowError: Python int too large to convert to SQLite INTEGER``), a
  string with a lone surrogate (``UnicodeEncodeError``: ``surrogates not
  allowed``), which has no UTF-8;
- any driver encoding a lone surrogate (psycopg, asyncpg, PyMySQL): the same
  ``UnicodeEncodeError``, told from the app's own by its traceback, whose
  innermost frame outside the standard library is the driver's or its ORM's;
- PostgreSQL: SQLSTATE 22003 (numeric_value_out_of_range), 22001
  (string_data_right_truncation), 22021 (character_not_in_repertoire:
  U+0000 in text, which psycopg refuses itself, without a SQLSTATE), 22P05
  (untranslatable_character);
- MySQL and MariaDB (strict mode): 1264 (out of range), 1406 (data too
  long), 1366 (incorrect string value).

The database's text goes to the log under an incident id, never into the
answer: it may quote another value of the row.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from ._errors import InvalidDocument
from ._incidents import log_incident, new_incident
from ._integrity import _chain, _mysql_code
from ._outage_socket import innermost_frame

__all__ = ["unstorable_value"]

_SQLITE_OVERFLOW: Final = "Python int too large to convert to SQLite INTEGER"
_PG_SQLSTATES: Final = {
    "22003": "a number is out of the range its column holds",
    "22001": "a string is longer than its column holds",
    "22021": "a string holds a character its column cannot (such as U+0000)",
    "22P05": "a string holds a character the database's encoding cannot",
}
_MYSQL_CODES: Final = {
    1264: "a number is out of the range its column holds",
    1406: "a string is longer than its column holds",
    1366: "a string holds a character its column cannot",
}
# psycopg (3 and 2) refuses U+0000 itself, before the server could say 22021.
_PG_NUL: Final = re.compile(r"cannot contain NUL \(0x00\)")
#: Where a driver binds a value: the modules (by prefix) of drivers and ORMs.
_DATABASE_MODULES: Final = (
    "sqlalchemy.",
    "django.db.",
    "aiosqlite",
    "psycopg",
    "asyncpg",
    "pymysql",
    "MySQLdb",
    "aiomysql",
    "mysql.connector",
)


def unstorable_value(exc: BaseException) -> InvalidDocument | None:
    """The 422 for a request whose value the database refused to hold; None for other errors."""
    for error in _chain(exc):
        why = _why(error)
        if why is not None:
            incident = new_incident()
            log_incident(incident, f"422 {why}", exc, level=logging.INFO)
            return InvalidDocument(
                f"the database cannot store a value of this request: {why}", incident=incident
            )
    return None


def _why(error: BaseException) -> str | None:
    if isinstance(error, OverflowError) and str(error) == _SQLITE_OVERFLOW:
        return "an integer is past the 64 bits its column holds"
    if isinstance(error, UnicodeEncodeError) and error.reason == "surrogates not allowed":
        frame = innermost_frame(error)
        if frame is not None and frame[0].startswith(_DATABASE_MODULES):
            return "a string holds a lone surrogate, which has no UTF-8"
        return None
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        return _PG_SQLSTATES.get(sqlstate)
    if type(error).__module__.partition(".")[0] in ("psycopg", "psycopg2") and _PG_NUL.search(
        str(error)
    ):
        return _PG_SQLSTATES["22021"]
    code, _ = _mysql_code(error)
    return None if code is None else _MYSQL_CODES.get(code)
