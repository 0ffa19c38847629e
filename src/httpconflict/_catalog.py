"""What a database's catalog says about its constraints, for naming columns.

An error often names only a constraint or an index (``ix_users_email``,
``Duplicate entry 'x' for key 'k'``, ``CHECK constraint failed: positive``),
and an index name need not say its columns. `CATALOG_QUERIES` reads every
unique index, foreign key and check constraint of the current schema in one
statement (no parameters, so any driver's paramstyle runs it);
`Catalog.from_rows` turns the rows into a lookup, and `Catalog.complete`
fills in what a `Violation` lacks. Running the query is the caller's I/O
(`httpconflict.catalog.load_catalog` does it for common connections).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from ._integrity import Violation, ViolationKind

CATALOG_QUERIES: Final = {
    "postgresql": """
SELECT n.nspname::text, t.relname::text, i.relname::text, 'unique',
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
             FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k),
       NULL::text, NULL::text[],
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE x.indisunique AND n.nspname = ANY (current_schemas(false))
UNION ALL
SELECT n.nspname::text, t.relname::text, c.conname::text,
       CASE c.contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign-key' ELSE 'exclusion' END,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.ord),
       r.relname::text,
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.ord),
       NULL::text[]
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  LEFT JOIN pg_class r ON r.oid = c.confrelid
 WHERE c.contype IN ('c', 'f', 'x') AND n.nspname = ANY (current_schemas(false))
""",
    "sqlite": """
SELECT 'column', m.name, NULL, c.cid, c.name, NULL, NULL
  FROM sqlite_schema AS m, pragma_table_info(m.name) AS c WHERE m.type = 'table'
UNION ALL
SELECT 'table', m.name, NULL, 0, NULL, NULL, m.sql FROM sqlite_schema AS m WHERE m.type = 'table'
UNION ALL
SELECT 'unique', m.name, l.name, i.seqno, i.name, NULL,
       (SELECT s.sql FROM sqlite_schema AS s WHERE s.type = 'index' AND s.name = l.name)
  FROM sqlite_schema AS m, pragma_index_list(m.name) AS l, pragma_index_info(l.name) AS i
 WHERE m.type = 'table' AND l."unique"
UNION ALL
SELECT 'foreign-key', m.name, f.id, f.seq, f."from", f."table", f."to"
  FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table'
""",
    "mysql": """
SELECT 'column', TABLE_NAME, NULL, ORDINAL_POSITION, COLUMN_NAME, NULL, NULL
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
UNION ALL
SELECT 'unique', TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NULL, NULL
  FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0
UNION ALL
SELECT 'foreign-key', TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION, COLUMN_NAME,
       REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
  FROM information_schema.KEY_COLUMN_USAGE
 WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
UNION ALL
SELECT 'check', tc.TABLE_NAME, cc.CONSTRAINT_NAME, 0, NULL, NULL, cc.CHECK_CLAUSE
  FROM information_schema.CHECK_CONSTRAINTS AS cc
  JOIN information_schema.TABLE_CONSTRAINTS AS tc
    ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA
   AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK'
 WHERE cc.CONSTRAINT_SCHEMA = DATABASE()
""",
}


@dataclass(frozen=True, slots=True)
class Constraint:
    """One constraint or unique index, as the catalog describes it."""

    table: str
    name: str
    kind: ViolationKind
    columns: tuple[str, ...]
    schema: str | None = None
    referenced_table: str | None = None
    referenced_columns: tuple[str, ...] = ()


class Catalog:
    """Constraints of one database by name, to complete what an error left out."""

    def __init__(self, dialect: str, constraints: Iterable[Constraint]) -> None:
        self.dialect = dialect
        self.constraints = tuple(constraints)
        self._by_name: dict[str, list[Constraint]] = defaultdict(list)
        for constraint in self.constraints:
            self._by_name[_fold(constraint.name)].append(constraint)

    @classmethod
    def from_rows(cls, dialect: str, rows: Iterable[Sequence[Any]]) -> Catalog:
        """Read the rows of ``CATALOG_QUERIES[dialect]``."""
        if dialect == "postgresql":
            return cls(dialect, _postgres_constraints(rows))
        if dialect in ("sqlite", "mysql"):
            return cls(dialect, _tabular_constraints(dialect, rows))
        raise ValueError(f"no catalog query for the {dialect!r} dialect")

    def find(self, violation: Violation) -> Constraint | None:
        """The constraint `violation` names, when exactly one matches."""
        if violation.constraint is None and violation.kind is ViolationKind.UNIQUE:
            return self._unique_on(violation)
        if violation.constraint is None:
            # Only a foreign key is worth guessing: the table's only one, or
            # the only one pointing at the table a row was deleted from.
            if violation.kind is not ViolationKind.FOREIGN_KEY:
                return None
            if violation.referenced and violation.referenced_table is not None:
                table, side = violation.referenced_table, "referenced_table"
            elif violation.table is not None:
                table, side = violation.table, "table"
            else:
                return None
            candidates = [
                c
                for c in self.constraints
                if c.kind is ViolationKind.FOREIGN_KEY
                and _fold(getattr(c, side) or "") == _fold(table)
            ]
            return candidates[0] if len(candidates) == 1 else None
        candidates = self._by_name.get(_fold(violation.constraint), [])
        if violation.table is not None and not any(
            _fold(c.table) == _fold(violation.table) for c in candidates
        ):
            # MySQL 8 names a key "table.key"; MariaDB names one "a.b" as it is.
            dotted = self._by_name.get(_fold(f"{violation.table}.{violation.constraint}"), [])
            if len(dotted) == 1:
                return dotted[0]
        if len(candidates) > 1:
            exact = [c for c in candidates if c.name == violation.constraint]
            candidates = exact or candidates
        if violation.table is not None and len(candidates) > 1:
            candidates = [c for c in candidates if _fold(c.table) == _fold(violation.table)]
        if violation.schema is not None and len(candidates) > 1:
            candidates = [c for c in candidates if c.schema == violation.schema]
        return candidates[0] if len(candidates) == 1 else None

    def _unique_on(self, violation: Violation) -> Constraint | None:
        """The named unique constraint on exactly the violation's columns (SQLite names none)."""
        if violation.table is None or not violation.columns:
            return None
        columns = tuple(_fold(c) for c in violation.columns)
        candidates = [
            c
            for c in self.constraints
            if c.kind is ViolationKind.UNIQUE
            and _fold(c.table) == _fold(violation.table)
            and tuple(_fold(n) for n in c.columns) == columns
            and not c.name.startswith(_SQLITE_AUTOINDEX)
        ]
        return candidates[0] if len(candidates) == 1 else None

    def complete(self, violation: Violation) -> Violation:
        """`violation` with its table and columns filled in from the catalog."""
        if violation.dialect != self.dialect:
            return violation
        found = self.find(violation)
        if found is None:
            return violation
        dotted = found.name != violation.constraint and "." in found.name
        return replace(
            violation,
            table=found.table if dotted else violation.table or found.table,
            schema=violation.schema or found.schema,
            constraint=found.name,
            columns=violation.columns or found.columns,
            referenced_table=violation.referenced_table or found.referenced_table,
            referenced_columns=violation.referenced_columns or found.referenced_columns,
        )


# SQLite's name for the index behind an unnamed UNIQUE or PRIMARY KEY: not a name to show.
_SQLITE_AUTOINDEX: Final = "sqlite_autoindex_"


def _fold(name: str) -> str:
    return name.casefold()


def _postgres_constraints(rows: Iterable[Sequence[Any]]) -> Iterator[Constraint]:
    for schema, table, name, kind, keys, ref_table, ref_columns, table_columns in rows:
        columns = tuple(keys or ())
        if kind == "unique":
            # A key part is a column name (quoted when it needs to be) or an
            # expression such as lower(email::text): name the columns in it.
            columns = _columns_in(columns, table_columns or (), case_sensitive=True)
        yield Constraint(
            table,
            name,
            ViolationKind(kind),
            columns,
            schema=schema,
            referenced_table=ref_table,
            referenced_columns=tuple(ref_columns or ()),
        )


def _tabular_constraints(dialect: str, rows: Iterable[Sequence[Any]]) -> Iterator[Constraint]:
    table_columns: dict[str, list[str]] = defaultdict(list)
    table_sql: dict[str, str] = {}
    parts: dict[tuple[str, str, str], list[tuple[int, Any, Any, Any]]] = defaultdict(list)
    for tag, table, name, seq, column, ref, extra in rows:
        if tag == "column":
            table_columns[table].append(column)
        elif tag == "table":
            table_sql[table] = extra or ""
        else:
            parts[(tag, table, str(name))].append((int(seq), column, ref, extra))
    for (tag, table, name), found in parts.items():
        found.sort(key=lambda part: part[0])
        columns = tuple(column for _, column, _, _ in found if column is not None)
        if tag == "unique" and len(columns) < len(found):
            # An expression index (SQLite): name the columns its SQL mentions.
            columns = _columns_in(
                (_index_keys(found[0][3] or ""),), table_columns[table], case_sensitive=False
            )
        if tag == "check":
            columns = _columns_in((found[0][3] or "",), table_columns[table], case_sensitive=False)
        if tag == "foreign-key":
            # SQLite foreign keys have no names: the id counts them per table.
            yield Constraint(
                table,
                name if dialect == "mysql" else f"{table}#{name}",
                ViolationKind.FOREIGN_KEY,
                columns,
                referenced_table=found[0][2],
                referenced_columns=tuple(str(part[3]) for part in found if part[3] is not None),
            )
            continue
        yield Constraint(table, name, ViolationKind(tag), columns)
    for table, sql in table_sql.items():
        yield from _sqlite_checks(table, sql, table_columns[table])


# SQLite keeps CHECK constraints only in the CREATE TABLE text. A named one
# reports its name when it fails; an unnamed one reports its expression.
_CHECK: Final = re.compile(
    r"(?:\bCONSTRAINT\s+(?P<name>\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|\w+)\s+)?\bCHECK\s*\(", re.I
)


_NAMED_UNIQUE: Final = re.compile(
    r"\bCONSTRAINT\s+(?P<name>\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|\w+)\s+(?:UNIQUE|PRIMARY\s+KEY)\s*\(",
    re.I,
)


def _sqlite_checks(table: str, sql: str, columns: Sequence[str]) -> Iterator[Constraint]:
    """The CHECK and named UNIQUE constraints of a SQLite CREATE TABLE statement."""
    for match in _NAMED_UNIQUE.finditer(sql):
        keys = _split_keys(_balanced(sql, match.end() - 1))
        named = _columns_in(keys, columns, case_sensitive=False)
        yield Constraint(table, match["name"].strip('"`[]'), ViolationKind.UNIQUE, named)
    for match in _CHECK.finditer(sql):
        expression = _balanced(sql, match.end() - 1)
        name = match["name"]
        key = name.strip('"`[]') if name else expression
        mentioned = _columns_in((expression,), columns, case_sensitive=False)
        yield Constraint(table, key, ViolationKind.CHECK, mentioned)


def _split_keys(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def _balanced(text: str, open_at: int) -> str:
    """The text inside the parentheses opening at `open_at`."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i].strip()
    return text[open_at + 1 :].strip()


def _index_keys(sql: str) -> str:
    """The key list of a CREATE INDEX statement (what is between ON t( and its ')')."""
    match = re.search(r"\bON\s+\S+?\s*\(", sql, re.I)
    return _balanced(sql, match.end() - 1) if match else ""


_TOKEN: Final = re.compile(
    r"'(?:[^']|'')*'|\"((?:[^\"]|\"\")+)\"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][\w$]*)"
)


def _columns_in(
    keys: Iterable[str], table_columns: Iterable[str], *, case_sensitive: bool
) -> tuple[str, ...]:
    """The table's columns that `keys` (column names or expressions) mention, in order."""
    known = {(c if case_sensitive else c.casefold()): c for c in table_columns}
    found: list[str] = []
    for key in keys:
        for match in _TOKEN.finditer(key):
            quoted = match[1] or match[2] or match[3]
            word = quoted.replace('""', '"') if quoted else match[4]
            if word is None:
                continue  # a string literal
            column = known.get(word if case_sensitive or quoted else word.casefold())
            if column is None and quoted and not case_sensitive:
                column = known.get(word.casefold())
            if column is not None and column not in found:
                found.append(column)
    return tuple(found)
