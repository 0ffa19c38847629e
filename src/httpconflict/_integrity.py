"""Integrity errors, classified: which constraint refused the write, and on what.

`classify(exc)` walks an exception's chain (SQLAlchemy's ``.orig``,
``__cause__`` as Django sets it, ``__context__``) and reads what the
database said, duck-typed, importing no driver:

- PostgreSQL (psycopg 3, psycopg2, asyncpg): the SQLSTATE, the constraint,
  table and column fields of the error, and the ``Key (a, b)=(1, 2)``
  detail;
- SQLite (the stdlib driver, aiosqlite): the extended result code and the
  ``UNIQUE constraint failed: t.a, t.b`` message;
- MySQL and MariaDB (PyMySQL, mysqlclient, aiomysql, mysql-connector): the
  error number and its message.

What the error does not say (the columns of a unique index named only by
its name, a check constraint's columns) a `Catalog` read from the database
adds. Values are kept as the database printed them; they are another
caller's data, so they stay out of HTTP answers unless the caller opts in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import permutations
from typing import Any, Final


class ViolationKind(StrEnum):
    """The kinds of integrity constraint a write can violate."""

    UNIQUE = "unique"
    NOT_NULL = "not-null"
    FOREIGN_KEY = "foreign-key"
    CHECK = "check"
    EXCLUSION = "exclusion"


@dataclass(frozen=True, slots=True)
class Violation:
    """One integrity constraint violation, as far as the database told it.

    `columns` are the constrained table's columns (for a foreign key, the
    referencing ones). `referenced` is true when the write was a delete or
    key update of a row that other rows still point to. `values` are the
    offending values as the database printed them (MySQL prints a
    multi-column key as one string), or None when it did not say.
    """

    kind: ViolationKind
    dialect: str
    table: str | None = None
    schema: str | None = None
    constraint: str | None = None
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] | None = None
    referenced_table: str | None = None
    referenced_columns: tuple[str, ...] = ()
    referenced: bool = False
    message: str = ""

    def with_details(self, **changes: Any) -> Violation:
        """A copy with some attributes changed."""
        return replace(self, **changes)


def classify(exc: BaseException) -> Violation | None:
    """The integrity violation `exc` reports, or None when it is not one.

    Every exception in the chain is read; the one that says the most wins
    (a driver's error under an ORM's wrapper carries the constraint name).
    """
    best: Violation | None = None
    for error in _chain(exc):
        found = _postgres(error) or _sqlite(error) or _mysql(error)
        if found is not None and (best is None or _score(found) > _score(best)):
            best = found
    if best is not None and best.table is None:
        best = _with_statement_table(best, exc)
    if best is not None and not best.columns and best.values and best.kind is ViolationKind.UNIQUE:
        best = _with_statement_columns(best, exc)
    return best


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        error = todo.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        links = (getattr(error, "orig", None), error.__cause__, error.__context__)
        todo.extend(link for link in links if isinstance(link, BaseException))


def _score(violation: Violation) -> int:
    return (
        (violation.constraint is not None)
        + (violation.table is not None)
        + 2 * bool(violation.columns)
        + (violation.values is not None)
    )


# What the PEP 249 exception hierarchy (and asyncpg's) calls its classes: an
# error whose class or a base has one of these names came from a database.
_DATABASE_ERRORS: Final = frozenset(
    {"DatabaseError", "IntegrityError", "OperationalError", "PostgresError", "Error"}
)


def _from_database(error: BaseException) -> bool:
    return any(
        cls.__name__ in _DATABASE_ERRORS and cls.__module__ != "builtins"
        for cls in type(error).__mro__
    )


# --- PostgreSQL --------------------------------------------------------------

_SQLSTATES: Final = {
    "23505": ViolationKind.UNIQUE,
    "23P01": ViolationKind.EXCLUSION,
    "23502": ViolationKind.NOT_NULL,
    "23503": ViolationKind.FOREIGN_KEY,
    "23001": ViolationKind.FOREIGN_KEY,  # restrict_violation
    "23514": ViolationKind.CHECK,
}
#: What follows an English foreign key detail's key: ``Key (a)=(1) is not
#: present in table "t".``, ``Key (id)=(1) is still referenced from table "t".``
_PG_MISSING: Final = ') is not present in table "'
_PG_REFERENCED: Final = ') is still referenced from table "'
# A name as PostgreSQL's messages quote it, in English and in each language
# it ships (lc_messages): "users", »users«, « users », «users».
_PG_QUOTED: Final = re.compile(r'"(?P<a>[^"]*)"|»(?P<b>[^«]*)«|« ?(?P<c>[^»]*?) ?»')
_PG_NOT_NULL: Final = re.compile(
    r'null value in column "(?P<column>[^"]+)"(?: of relation "(?P<table>[^"]+)")?'
)
_PG_IDENTIFIER: Final = re.compile(r'^(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")$')


def _postgres(error: BaseException) -> Violation | None:
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    kind = _SQLSTATES.get(sqlstate) if isinstance(sqlstate, str) else None
    if kind is None or not _from_database(error):
        return None
    diag = getattr(error, "diag", None) or error  # psycopg's diag, or asyncpg's own fields

    def field(*names: str) -> str | None:
        for name in names:
            value = getattr(diag, name, None)
            if isinstance(value, str) and value:
                return value
        return None

    detail = field("message_detail", "detail") or ""
    message = field("message_primary", "message") or str(error)
    found = Violation(
        kind,
        "postgresql",
        table=field("table_name"),
        schema=field("schema_name"),
        constraint=field("constraint_name"),
        message=f"{message} {detail}".strip(),
    )
    if kind is ViolationKind.NOT_NULL:
        column = field("column_name")
        match = _PG_NOT_NULL.search(message)
        if column is None and match:
            column = match["column"]
        table = found.table or (match["table"] if match else None)
        return replace(found, table=table, columns=(column,) if column else ())
    if kind is ViolationKind.FOREIGN_KEY:
        return _pg_foreign_key(found, message, detail)
    if (key := _pg_key(detail, pair=kind is ViolationKind.EXCLUSION)) is not None:
        return replace(found, columns=_pg_columns(key[0]), values=_pg_values(key[1], key[0]))
    return found


def _pg_key(detail: str, *, pair: bool = False) -> tuple[str, str, str] | None:
    """The columns and values of the first ``(a, b)=(1, 2)`` in a detail, and the rest of it.

    The key is printed the same in every language the server may answer in
    (lc_messages): ``Key (email)=(a@x) already exists.``, ``Schlüssel
    »(email)=(a@x)« existiert bereits.``, ``Ключ "(email)=(a@x)" уже
    существует.``; no word before it has a parenthesis, none after it a
    closing one. The values are another caller's, any text (a newline,
    ``) already exists``): they run to the last ")", or, for a `pair` (an
    exclusion's "conflicts with existing key (r)=(...)"), to the last one
    before the second key. The rest is the detail without the key.
    """
    start = detail.find("(")
    middle = detail.find(")=(", start)
    if start < 0 or middle < 0:
        return None
    columns, rest = detail[start + 1 : middle], detail[middle + 3 :]
    second = rest.rfind(f"({columns})=(") if pair else -1
    end = rest.rfind(")", 0, second if second > 0 else len(rest))
    if end < 0:
        return None
    return columns, rest[:end], detail[:start] + rest[end + 1 :]


def _pg_english_key(detail: str) -> tuple[str, str, str, str] | None:
    """The columns, values, table and kind (`_PG_MISSING`, `_PG_REFERENCED`) of an English detail.

    ``Key (columns)=(values)`` then the kind's words then ``table".``, found
    with str.find in one pass. The values are another caller's, any text,
    the kind's words included: the words the server wrote are the last
    ones. (The regular expressions this replaces backtracked over the
    values when the detail was the other kind or in another language: a
    6 KB key of ``Key (a)=(x`` repeated took 7.8 s of CPU to classify.)
    """
    kind = max((_PG_MISSING, _PG_REFERENCED), key=detail.rfind)
    start = detail.find("Key (")
    middle = detail.find(")=(", start + 5)
    end = detail.rfind(kind)
    table_end = detail.rfind('"')
    if start < 0 or middle < 0 or end < middle + 3 or table_end <= end + len(kind):
        return None
    columns, values = detail[start + 5 : middle], detail[middle + 3 : end]
    return columns, values, detail[end + len(kind) : table_end], kind


def _pg_foreign_key(found: Violation, message: str, detail: str) -> Violation:
    if (english := _pg_english_key(detail)) is not None:
        named_columns, printed, table, kind = english
        if kind == _PG_MISSING:
            return replace(
                found,
                columns=_pg_columns(named_columns),
                values=_pg_values(printed, named_columns),
                referenced_table=table,
            )
        # The key is the referenced row's; the constraint is the referencing table's.
        return replace(
            found,
            referenced_columns=_pg_columns(named_columns),
            values=_pg_values(printed, named_columns),
            referenced_table=found.table if found.table != table else None,
            table=table,
            referenced=True,
        )
    key = _pg_key(detail)
    if key is None:
        return found
    # Another language: the message names three things when a row others
    # refer to was updated or deleted ("update or delete on table "users"
    # violates foreign key constraint "fk" on table "orders""), two when a
    # row refers to a missing one ("insert or update on table "orders"
    # violates ..."), whose detail then names the referenced table.
    columns, values = _pg_columns(key[0]), _pg_values(key[1], key[0])
    if len(_pg_quoted(message)) >= 3:
        return replace(found, referenced_columns=columns, values=values, referenced=True)
    named = _pg_quoted(key[2])
    return replace(
        found, columns=columns, values=values, referenced_table=named[-1] if named else None
    )


def _pg_quoted(text: str) -> list[str]:
    return [m["a"] or m["b"] or m["c"] for m in _PG_QUOTED.finditer(text)]


def _split_top_level(text: str) -> list[str]:
    """Split on ", " outside parentheses and double quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(", ", i):
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    return parts


def _pg_columns(text: str) -> tuple[str, ...]:
    """The key's columns; () when a part is an expression (the catalog knows those)."""
    parts = _split_top_level(text)
    if not all(_PG_IDENTIFIER.match(part) for part in parts):
        return ()
    return tuple(_unquote(part, '"') for part in parts)


def _pg_values(text: str, columns: str) -> tuple[str, ...] | None:
    count = len(_split_top_level(columns))
    if count == 1:
        return (text,)
    parts = text.split(", ")
    return tuple(parts) if len(parts) == count else None


def _unquote(name: str, quote: str) -> str:
    if len(name) >= 2 and name[0] == quote and name[-1] == quote:
        return name[1:-1].replace(quote * 2, quote)
    return name


# --- SQLite ------------------------------------------------------------------

# Extended result codes (https://www.sqlite.org/rescode.html).
_SQLITE_CODES: Final = {
    275: ViolationKind.CHECK,  # SQLITE_CONSTRAINT_CHECK
    787: ViolationKind.FOREIGN_KEY,  # SQLITE_CONSTRAINT_FOREIGNKEY
    1299: ViolationKind.NOT_NULL,  # SQLITE_CONSTRAINT_NOTNULL
    1555: ViolationKind.UNIQUE,  # SQLITE_CONSTRAINT_PRIMARYKEY
    2067: ViolationKind.UNIQUE,  # SQLITE_CONSTRAINT_UNIQUE
    2579: ViolationKind.UNIQUE,  # SQLITE_CONSTRAINT_ROWID
}
_SQLITE_MESSAGES: Final = (
    ("UNIQUE constraint failed: ", ViolationKind.UNIQUE),
    ("NOT NULL constraint failed: ", ViolationKind.NOT_NULL),
    ("CHECK constraint failed: ", ViolationKind.CHECK),
    ("FOREIGN KEY constraint failed", ViolationKind.FOREIGN_KEY),
)
_SQLITE_INDEX: Final = re.compile(r"^index '(?P<name>.+)'$")


def _sqlite(error: BaseException) -> Violation | None:
    code = getattr(error, "sqlite_errorcode", None)
    if not _from_database(error) or not (
        isinstance(code, int) or type(error).__module__ in ("sqlite3", "_sqlite3")
    ):
        return None
    message = str(error)
    by_message = next(
        ((prefix, kind) for prefix, kind in _SQLITE_MESSAGES if message.startswith(prefix)),
        None,
    )
    # The extended code decides where there is one (Python 3.11+); the
    # message alone only for errors raised without it.
    if isinstance(code, int):
        kind = _SQLITE_CODES.get(code)
    else:
        kind = by_message[1] if by_message is not None else None
    if kind is None:
        return None
    found = Violation(kind, "sqlite", message=message)
    if by_message is None or by_message[1] is not kind:
        return found
    rest = message[len(by_message[0]) :].strip()
    if kind is ViolationKind.CHECK:
        # A named CHECK reports its name; an unnamed one its expression.
        return replace(found, constraint=rest or None)
    if (index := _SQLITE_INDEX.match(rest)) is not None:
        return replace(found, constraint=index["name"])
    if not rest:
        return found
    tables, columns = set(), []
    for qualified in rest.split(", "):
        table, _, column = qualified.partition(".")
        tables.add(table)
        columns.append(column)
    if len(tables) != 1 or not all(columns):
        return found
    return replace(found, table=tables.pop(), columns=tuple(columns))


# --- MySQL and MariaDB -------------------------------------------------------

# Server error numbers (https://mariadb.com/kb/en/mariadb-error-code-reference/).
_MYSQL_CODES: Final = {
    1022: ViolationKind.UNIQUE,  # ER_DUP_KEY
    1062: ViolationKind.UNIQUE,  # ER_DUP_ENTRY
    1586: ViolationKind.UNIQUE,  # ER_DUP_ENTRY_WITH_KEY_NAME
    1048: ViolationKind.NOT_NULL,  # ER_BAD_NULL_ERROR
    1364: ViolationKind.NOT_NULL,  # ER_NO_DEFAULT_FOR_FIELD
    1216: ViolationKind.FOREIGN_KEY,  # ER_NO_REFERENCED_ROW
    1217: ViolationKind.FOREIGN_KEY,  # ER_ROW_IS_REFERENCED
    1451: ViolationKind.FOREIGN_KEY,  # ER_ROW_IS_REFERENCED_2
    1452: ViolationKind.FOREIGN_KEY,  # ER_NO_REFERENCED_ROW_2
    3819: ViolationKind.CHECK,  # ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
    4025: ViolationKind.CHECK,  # ER_CONSTRAINT_FAILED (MariaDB)
}
_MYSQL_COLUMN: Final = re.compile(r"(?:Column|Field) '(?P<column>[^']*)'")
_MYSQL_QUOTED: Final = re.compile(r"[^']*'(?P<column>[^']*)'[^']*")
_MYSQL_FOREIGN: Final = re.compile(
    r"\((?:`(?P<schema>[^`]*)`\.)?`(?P<table>[^`]*)`, CONSTRAINT `(?P<name>[^`]*)` "
    r"FOREIGN KEY \((?P<columns>[^)]*)\) REFERENCES `(?P<ref>[^`]*)` \((?P<refcols>[^)]*)\)"
)
_MYSQL_CHECK: Final = re.compile(
    r"Check constraint '(?P<name>[^']*)'|CONSTRAINT `(?P<name2>[^`]*)` failed for "
    r"(?:`(?P<schema>[^`]*)`\.)?`(?P<table>[^`]*)`"
)


def _mysql(error: BaseException) -> Violation | None:
    code, message = _mysql_code(error)
    kind = _MYSQL_CODES.get(code) if code is not None else None
    if kind is None or not _from_database(error):
        return None
    found = Violation(kind, "mysql", message=message)
    if kind is ViolationKind.UNIQUE:
        value, key = _mysql_duplicate(message)
        if code == 1022:  # ER_DUP_KEY: "Can't write; duplicate key in table 't'"
            return replace(found, table=key)
        if key is None:
            return found
        # MySQL 8.0.19+ names the key table.key; MariaDB names the key alone.
        table, _, name = key.rpartition(".")
        return replace(
            found,
            table=table or None,
            constraint=name,
            values=(value,) if value is not None else None,
        )
    if kind is ViolationKind.NOT_NULL:
        match = _MYSQL_COLUMN.search(message)
        if match is None:
            # Another language (lc_messages): the column is the one quoted name.
            match = _MYSQL_QUOTED.fullmatch(message)
        return replace(found, columns=(match["column"],)) if match else found
    if kind is ViolationKind.FOREIGN_KEY:
        referenced = code in (1217, 1451)
        if not (match := _MYSQL_FOREIGN.search(message)):
            return replace(found, referenced=referenced)
        return replace(
            found,
            schema=match["schema"],
            table=match["table"],
            constraint=match["name"],
            columns=_backticked(match["columns"]),
            referenced_table=match["ref"],
            referenced_columns=_backticked(match["refcols"]),
            referenced=referenced,
        )
    if match := _MYSQL_CHECK.search(message):
        name, table = match["name"] or match["name2"], match["table"]
        if table and name.startswith(f"{table}."):
            # MariaDB names a column's own CHECK after the column.
            name = name[len(table) + 1 :]
            return replace(found, constraint=name, table=table, columns=(name,))
        return replace(found, constraint=name, schema=match["schema"], table=table)
    return found


def _mysql_duplicate(message: str) -> tuple[str | None, str | None]:
    """The value and the key of a duplicate entry message, in any language.

    ``Duplicate entry 'a@x' for key 'users_email'``, ``Doppelter Eintrag
    'a@x' für Schlüssel 'users_email'``, ``'a@x' は索引 'users_email' で重複
    しています。``: whatever lc_messages says, the value is quoted first and
    the key last, and no word has a quote. The value is another caller's,
    any text (a quote, a newline, `` for key 'x'``): it runs from the first
    quote to the last one before the key's.
    """
    end = message.rfind("'")
    start = message.rfind("'", 0, end)
    if start < 0:
        return None, None
    key = message[start + 1 : end]
    first = message.find("'")
    value_end = message.rfind("'", 0, start)
    value = message[first + 1 : value_end] if first < value_end else None
    return value, key


def _mysql_code(error: BaseException) -> tuple[int | None, str]:
    errno = getattr(error, "errno", None)  # mysql-connector
    if isinstance(errno, int) and not isinstance(errno, bool):
        return errno, str(getattr(error, "msg", "") or error)
    args = error.args
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return args[0], args[1]  # PyMySQL, mysqlclient, aiomysql
    return None, str(error)


def _backticked(text: str) -> tuple[str, ...]:
    return tuple(_unquote(part.strip(), "`") for part in text.split(","))


# --- the statement, where an ORM kept it -------------------------------------

_STATEMENT: Final = re.compile(
    r"^\s*(?P<verb>INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+"
    r"(?:[`\"\[]?[\w$]+[`\"\]]?\.)?[`\"\[]?(?P<table>[\w$]+)[`\"\]]?",
    re.IGNORECASE,
)


def _with_statement_table(violation: Violation, exc: BaseException) -> Violation:
    """Name the table from the failed statement (SQLAlchemy keeps it on its error).

    SQLite's foreign key error says nothing; the statement tells at least
    whether a row pointed at a missing one (INSERT, UPDATE) or a row others
    point at was deleted (DELETE).
    """
    for error in _chain(exc):
        statement = getattr(error, "statement", None)
        if isinstance(statement, str) and (match := _STATEMENT.match(statement)):
            table = match["table"]
            deleting = match["verb"].upper().startswith("DELETE")
            if violation.kind is ViolationKind.FOREIGN_KEY and deleting:
                return replace(violation, referenced=True, referenced_table=table)
            return replace(violation, table=table)
    return violation


# A placeholder of any DB-API paramstyle: %s, ?, %(name)s, :name, $1.
_PLACEHOLDER: Final = re.compile(
    r"%s|\?|%\((?P<pyformat>[^)]+)\)s|:(?P<named>\w+)|\$(?P<numeric>\d+)"
)
_NAME: Final = r"[`\"\[]?(?P<column>[\w$]+)[`\"\]]?"
_INSERT_COLUMNS: Final = re.compile(
    r"^\s*INSERT\s+(?:IGNORE\s+)?INTO\s+\S+\s*\((?P<columns>[^)]*)\)\s*"
    r"VALUES\s*\((?P<values>(?:%\([^)]*\)s|[^)])*)\)"
    r"\s*(?:;|$|ON\b|RETURNING\b)",
    re.IGNORECASE,
)
_UPDATE_SET: Final = re.compile(
    r"^\s*UPDATE\s+\S+\s+SET\s+(?P<assignments>.*?)(?:\s+WHERE\b|$)", re.IGNORECASE | re.DOTALL
)
_ASSIGNMENT: Final = re.compile(
    rf"^\s*(?:[`\"\[]?[\w$]+[`\"\]]?\.)?{_NAME}\s*=\s*(?P<value>\S+)\s*$"
)
#: Columns of a key of several columns looked for (MariaDB prints their values joined by "-").
_MOST_KEY_COLUMNS: Final = 3
#: Orderings of a row's columns tried at most for one key size.
_MOST_TRIES: Final = 30_000


def _with_statement_columns(violation: Violation, exc: BaseException) -> Violation:
    """Name a duplicate's columns from the failed statement and its parameters.

    MariaDB and MySQL name the key, not its columns ("Duplicate entry 'b@x'
    for key 'uq_contact'"), and print the duplicate value (a key of several
    columns: their values joined by "-"). SQLAlchemy keeps the statement
    and its parameters on its error: the column of an INSERT's column list
    or an UPDATE's SET whose parameter is that value is the key's, when
    exactly one column, or one set of up to three, fits it. A value two
    columns share tells nothing, and names none.
    """
    assert violation.values is not None
    printed = "-".join(violation.values)
    for error in _chain(exc):
        statement, params = getattr(error, "statement", None), getattr(error, "params", None)
        if not isinstance(statement, str) or params is None:
            continue
        sent = _sent_values(statement, params)
        if not sent:
            return violation
        found = _columns_printed(printed, sent)
        return violation if found is None else replace(violation, columns=found)
    return violation


def _sent_values(statement: str, params: object) -> list[tuple[str, str]]:
    """(column, its value as MariaDB prints it) for each column set to a parameter."""
    if match := _INSERT_COLUMNS.match(statement):
        columns = [_unquote_name(c) for c in match["columns"].split(",")]
        placeholders = match["values"].split(",")
        if len(columns) != len(placeholders):
            return []
        pairs = list(zip(columns, placeholders, strict=True))
    elif match := _UPDATE_SET.match(statement):
        pairs = []
        for assignment in match["assignments"].split(","):
            if not (set_to := _ASSIGNMENT.match(assignment)):
                return []
            pairs.append((set_to["column"], set_to["value"]))
    else:
        return []
    sent: list[tuple[str, str]] = []
    position = 0
    for column, placeholder in pairs:
        found = _PLACEHOLDER.fullmatch(placeholder.strip())
        if found is None:
            continue  # a literal, or an expression: not a parameter
        value: object
        try:
            if found["pyformat"] or found["named"]:
                value = params[found["pyformat"] or found["named"]]  # type: ignore[index]
            elif found["numeric"]:
                value = params[int(found["numeric"]) - 1]  # type: ignore[index]
            else:
                value = params[position]  # type: ignore[index]
                position += 1
        except (KeyError, IndexError, TypeError):
            return []  # many rows' parameters (executemany), or not what the statement says
        if (text := _as_printed(value)) is not None:
            sent.append((column, text))
    return sent


def _as_printed(value: object) -> str | None:
    """A parameter as MariaDB prints it in a duplicate-key error (None: not comparable)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str | int | float) or type(value).__name__ in ("Decimal", "UUID"):
        return str(value)
    return None


def _columns_printed(printed: str, sent: list[tuple[str, str]]) -> tuple[str, ...] | None:
    """The one set of columns whose values, joined by "-" in key order, are `printed`."""
    cut = printed.endswith("...")  # a long value, cut short by the server

    def fits(text: str) -> bool:
        return text == printed or (cut and text.startswith(printed[:-3]))

    found: set[tuple[str, ...]] = set()
    for size in range(1, _MOST_KEY_COLUMNS + 1):
        if size > 1 and len(sent) ** size > _MOST_TRIES:
            break  # a very wide row: its one-column keys only
        for chosen in permutations(range(len(sent)), size):
            if fits("-".join(sent[i][1] for i in chosen)):
                found.add(tuple(sent[i][0] for i in chosen))
        if found:
            break
    distinct = {frozenset(columns) for columns in found}
    return next(iter(found)) if len(distinct) == 1 and len(found) == 1 else None


def _unquote_name(text: str) -> str:
    match = re.fullmatch(rf"\s*{_NAME}\s*", text)
    return match["column"] if match else text.strip()
