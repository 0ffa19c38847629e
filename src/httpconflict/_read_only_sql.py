"""SQL statements that provably change nothing: what a lost connection cannot have applied.

Theory of operation: a request whose database connection broke has applied
nothing when every statement it sent was read-only; then its client may
send it again (a 503), rather than be told its outcome is unknown (a 504,
which an Idempotency-Key records and replays). `read_only` is the judge,
and it only says yes when the text proves it: a read (``SELECT``,
``SHOW``, ``VALUES``, ``TABLE``, ``EXPLAIN`` without ``ANALYZE``, which
runs the statement), a session setting or transaction control, with

- no call of a function but the databases' own that change nothing
  (``count``, ``lower``...): a function of the app's may write
  (``SELECT place_order(...)``), and so do ``nextval`` and ``set_config``;
  a qualified or quoted name (``app.count(...)``) is the app's;
- no ``INTO`` (``SELECT ... INTO new_table`` creates a table, MySQL's
  ``INTO OUTFILE`` a file), no ``ANALYZE``, no ``PREPARED`` (``COMMIT
  PREPARED`` commits a two-phase transaction of another session), no
  ``=`` in a ``PRAGMA`` (SQLite's ``user_version = 5`` writes the file);
- one statement: ``SELECT 1; DELETE FROM t`` is two.

A lock (``SELECT ... FOR UPDATE``) changes no data, and the server drops
it with the lost session. Anything else counts as a write, a ``WITH``
(whose parts may be ``DELETE ... RETURNING``) and text in doubt too: a
string literal or a comment that looks like a call makes a read count as
a write, never the reverse. What no text shows (a view or an operator of
the app's that calls a function that writes) the app says itself
(`httpconflict.mark_applied`).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["read_only"]

_LEADING: Final = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
_WORD: Final = re.compile(r"[A-Za-z]+")
#: First words of statements that read, set the session, or control the transaction.
_READS: Final = frozenset(
    {
        *("select", "show", "explain", "values", "table", "describe", "desc", "pragma"),
        *("set", "reset", "begin", "start", "commit", "rollback", "savepoint", "release", "end"),
    }
)
#: Words that make a statement of those a write (`read_only`'s docstring says why).
_WRITING_WORDS: Final = re.compile(r"\b(?:into|analy[sz]e|prepared)\b", re.IGNORECASE)
#: A name followed by an opening parenthesis: a call, a keyword's parenthesis, or a type's.
#: A name is tried from its first character only (the lookbehind): tried
#: from each of its characters, a word of 4,000 took 0.5 s, and a 60 KB
#: literal (a driver that writes the parameters into the text) minutes.
_CALL: Final = re.compile(r"""((?<![.\w$])[.\w$]*\w|["`\]])\s*\(""")
#: Keywords and type names a parenthesis follows, and the databases' own functions that
#: change nothing (PostgreSQL, MySQL and MariaDB, SQLite: none can be replaced by an
#: app's function of the same unqualified name).
_NOT_CALLS: Final = frozenset(
    {
        *("in", "exists", "any", "all", "some", "values", "over", "filter", "within", "on"),
        *("and", "or", "not", "as", "from", "where", "when", "then", "else", "select", "join"),
        *("using", "like", "between", "is", "by", "lateral", "distinct", "having", "union"),
        *("intersect", "except", "case", "limit", "offset", "with", "set", "row", "array"),
        *("numeric", "decimal", "varchar", "char", "character", "float", "interval", "cast"),
        *("count", "sum", "min", "max", "avg", "coalesce", "nullif", "greatest", "least"),
        *("lower", "upper", "length", "char_length", "octet_length", "substring", "substr"),
        *("trim", "ltrim", "rtrim", "abs", "round", "floor", "ceil", "ceiling", "extract"),
        *("date_trunc", "now", "concat", "replace", "position", "row_number", "rank"),
        *("dense_rank", "array_agg", "string_agg", "group_concat", "ifnull", "bool_and"),
        *("bool_or", "json_agg", "jsonb_agg", "json_build_object", "jsonb_build_object"),
        *("json_object", "to_char", "to_json", "to_jsonb", "jsonb_extract_path_text"),
        *("json_extract", "version", "current_schema", "current_setting", "date", "strftime"),
    }
)


def read_only(statement: str) -> bool:
    """Whether `statement` provably changes no data (else, in doubt too, it may write)."""
    start = _LEADING.match(statement)
    word = _WORD.match(statement, start.end() if start else 0)
    if word is None:
        return False
    first = word.group().lower()
    if first not in _READS or _WRITING_WORDS.search(statement):
        return False
    if first == "pragma" and "=" in statement:
        return False
    if ";" in statement.rstrip().rstrip(";"):
        return False
    return all(call.group(1).lower() in _NOT_CALLS for call in _CALL.finditer(statement))
