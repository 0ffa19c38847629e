"""What the helpers' statements need to know about a model, and the statements themselves.

Building a SQLAlchemy statement is Python work: every ``column == value``,
``.where()`` and ``.values()`` makes new objects, and a new statement
computes its compilation cache key again. For a one-row conditional UPDATE
that work cost more than the UPDATE itself (bench/adapters.py). So a
`_Table` builds each shape of statement once (which values are set, how
many versions the guard allows, whether it returns the row), with
bound parameters where the values go, and runs it with the request's
values as parameters. A value that is itself a SQL expression
(``Note.count + 1``) is part of the statement, which is then built for
that request only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    REAL,
    BigInteger,
    ColumnElement,
    Delete,
    Double,
    Integer,
    Result,
    SmallInteger,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import ClauseElement

from .._column_values import ColumnKind, ColumnType
from .._etag import ETag
from .._preconditions import Validators
from .._write import Guard

#: A mapped class or a `Table`.
Model = Any

#: The guard of a statement: any version (If-Match: *), one, or several.
_ANY: Final = "any"
_ONE: Final = "one"
_SEVERAL: Final = "several"
_PREFIX: Final = "httpconflict_"
#: Statements kept per model: the shapes one app writes are few; a bound
#: keeps a client that sends ever new sets of fields from growing the cache.
_KEPT: Final = 64


def version_etag(version: object) -> ETag:
    """The strong entity-tag of a row whose version column holds `version`."""
    return ETag(str(version))


@dataclass(frozen=True, slots=True, eq=False)
class _Table:
    """A model's key and version columns, and the statements built for it so far."""

    entity: Model
    key: tuple[Any, ...]
    version: Any
    integer: bool
    _statements: dict[Hashable, Any] = field(default_factory=dict)

    def check_key(self, key: object) -> tuple[Any, ...]:
        values = key if isinstance(key, tuple) else (key,)
        if len(values) != len(self.key):
            raise ValueError(f"the primary key has {len(self.key)} columns, got {key!r}")
        return values

    def names_a_row(self, key: object, dialect: str) -> bool:
        """Whether `key` fits its columns on `dialect`: an integer past a column's range names
        no row (sent, it would fail the statement: SQLite cannot bind one past 64 bits)."""
        for column, value in zip(self.key, self.check_key(key), strict=True):
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            kind = _column_type(column, dialect)
            if kind is None or kind.kind is not ColumnKind.INTEGER:
                continue
            if (kind.low is not None and value < kind.low) or (
                kind.high is not None and value > kind.high
            ):
                return False
        return True

    def where_key(self, key: object) -> ColumnElement[bool]:
        """``id = <key>`` with the key's values in the statement (for one-off reads)."""
        values = self.check_key(key)
        clauses = [column == value for column, value in zip(self.key, values, strict=True)]
        return clauses[0] if len(clauses) == 1 else and_(*clauses)

    def versions(self, guard: Guard, dialect: str) -> list[object] | None:
        """The versions the guard allows, None for any; [] when it can never hold."""
        if guard.exists is False:
            return []  # these helpers never create a row
        if guard.etags is None:
            return None
        named = (self.version_of(opaque, dialect) for opaque in guard.etags)
        return [v for v in named if v is not None]

    def version_of(self, opaque: str, dialect: str = "") -> object | None:
        """The version an entity-tag names; None when it names none of this table's.

        An integer version's tag is its digits as `version_etag` writes them:
        "07" names no version (RFC 9110 §8.8.3.2: strong comparison is
        character by character; the tag of version 7 is "7"), and neither do
        digits past what the column holds on `dialect` (sent, they would fail
        the statement: a refusal of the request's body, not a 412).
        """
        if not self.integer:
            return opaque
        if not _CANONICAL.fullmatch(opaque):
            return None
        value = int(opaque)
        kind = _column_type(self.version, dialect) if dialect else None
        high = kind.high if kind is not None and kind.high is not None else _INT64_MAX
        return value if value <= high else None

    def column_types(self, names: Iterable[str], dialect: str) -> dict[str, ColumnType]:
        """What each of `names` that is a column of one scalar holds, on `dialect`."""
        columns = self.entity.c if isinstance(self.entity, Table) else inspect(self.entity).columns
        found = {name: _column_type(columns[name], dialect) for name in names if name in columns}
        return {name: kind for name, kind in found.items() if kind is not None}

    def update(
        self,
        key: object,
        values: Mapping[str, Any],
        versions: list[object] | None,
        *,
        returning: bool,
    ) -> tuple[Update, dict[str, Any]]:
        """The guarded UPDATE that sets `values` and bumps the version, and its parameters."""
        names = tuple(values)
        inline = {name: v for name, v in values.items() if is_expression(v)}
        parameters = self._parameters(key, versions)
        for i, (name, value) in enumerate(values.items()):
            if name not in inline:
                parameters[f"{_PREFIX}set_{i}"] = value
        shape = ("update", names, _guard_shape(versions), returning)
        if not inline and shape in self._statements:
            return self._statements[shape], parameters
        sets = {
            name: inline.get(name, bindparam(f"{_PREFIX}set_{i}")) for i, name in enumerate(names)
        }
        statement = (
            update(self.entity)
            .where(*self._where(versions))
            .values({**sets, self.version.key: self.version + 1})
            .execution_options(synchronize_session=False)
        )
        if returning:
            statement = self._returning_row(statement)
        if not inline:
            self._keep(shape, statement)
        return statement, parameters

    def delete(self, key: object, versions: list[object] | None) -> tuple[Delete, dict[str, Any]]:
        """The guarded DELETE, and its parameters."""
        parameters = self._parameters(key, versions)
        shape = ("delete", _guard_shape(versions))
        statement = self._statements.get(shape)
        if statement is None:
            statement = (
                delete(self.entity)
                .where(*self._where(versions))
                .execution_options(synchronize_session=False)
            )
            self._keep(shape, statement)
        return statement, parameters

    def _keep(self, shape: Hashable, statement: Any) -> None:
        if len(self._statements) >= _KEPT:
            self._statements.clear()
        self._statements[shape] = statement

    def _where(self, versions: list[object] | None) -> list[ColumnElement[bool]]:
        where = [column == bindparam(f"{_PREFIX}key_{i}") for i, column in enumerate(self.key)]
        if versions is None:
            where.append(true())
        elif len(versions) == 1:
            where.append(self.version == bindparam(f"{_PREFIX}version"))
        else:
            where.append(self.version.in_(bindparam(f"{_PREFIX}versions", expanding=True)))
        return where

    def _parameters(self, key: object, versions: list[object] | None) -> dict[str, Any]:
        parameters = {f"{_PREFIX}key_{i}": v for i, v in enumerate(self.check_key(key))}
        if versions is not None and len(versions) == 1:
            parameters[f"{_PREFIX}version"] = versions[0]
        elif versions is not None:
            parameters[f"{_PREFIX}versions"] = versions
        return parameters

    def loaded(self, session: Session, key: object) -> object | None:
        """The object for `key` in the session's identity map, if any (no query)."""
        if isinstance(self.entity, Table) or not session.identity_map:
            return None
        return session.identity_map.get(identity_key(self.entity, self.check_key(key)))

    def forget(self, session: Session, key: object) -> None:
        """Drop a loaded object whose row the DELETE removed."""
        row = self.loaded(session, key)
        if row is not None:
            session.expunge(row)

    def current(self, session: Session, key: object) -> Validators | None:
        """The validators stored now, as the write just refused saw them."""
        statement = select(self.version).where(self.where_key(key))
        if session.get_bind(clause=statement).dialect.name in ("mysql", "mariadb"):
            # InnoDB's REPEATABLE READ answers a plain SELECT from the snapshot
            # of the transaction's first read, which may predate the version
            # that made the UPDATE match nothing; a locking read sees it.
            statement = statement.with_for_update(read=True)
        found = session.execute(statement).first()
        return None if found is None else Validators(version_etag(found[0]))

    def _returning_row(self, statement: Update) -> Update:
        """`statement` answering the whole row it wrote, and updating a loaded object with it."""
        if isinstance(self.entity, Table):
            return statement.returning(*self.entity.columns)
        return statement.returning(self.entity).execution_options(populate_existing=True)

    def returned(self, result: Result[Any]) -> object | None:
        """The row an ``UPDATE ... RETURNING`` wrote: a mapped object, a `Row`, or None."""
        if isinstance(self.entity, Table):
            return result.first()
        return result.scalar_one_or_none()

    def written_row(self, session: Session, key: object) -> object:
        """Row `key` as this transaction wrote it (MySQL: no RETURNING).

        The row is locked by this transaction's UPDATE until it ends, so the
        read sees the version just written.
        """
        statement = select(self.entity).where(self.where_key(key))
        if isinstance(self.entity, Table):
            return session.execute(statement).one()
        return session.execute(statement.execution_options(populate_existing=True)).scalar_one()

    def etag_in(self, row: object) -> ETag:
        """The entity-tag of a row this table's statements read or wrote."""
        return version_etag(getattr(row, self.version.key))


def table_of(model: Model, version: str | None) -> _Table:
    """The `_Table` of a mapped class or `Table`, one per model and version column."""
    return _cached_table(model, version)


@functools.lru_cache(maxsize=256)
def _cached_table(model: Hashable, version: str | None) -> _Table:
    if isinstance(model, Table):
        name = version or "version"
        return _Table(
            model, tuple(model.primary_key.columns), model.c[name], _is_integer(model.c[name])
        )
    mapper: Mapper[Any] = inspect(model)
    column = getattr(model, version_attribute(mapper, version))
    return _Table(model, tuple(mapper.primary_key), column, _is_integer(column))


def version_attribute(mapper: Mapper[Any], version: str | None) -> str:
    """The attribute holding a mapper's version: `version`, its version_id_col, or "version"."""
    if version is not None:
        return version
    if mapper.version_id_col is not None:
        return mapper.get_property_by_column(mapper.version_id_col).key
    return "version"


def _is_integer(column: Any) -> bool:
    try:
        return issubclass(column.type.python_type, int)
    except NotImplementedError:
        return False


#: Python types of columns that hold one scalar (a `JSON` column's is dict, an ARRAY's list),
#: most specific first (a bool is an int, a datetime a date).
_KINDS: Final = (
    (bool, ColumnKind.BOOLEAN),
    (int, ColumnKind.INTEGER),
    (Decimal, ColumnKind.DECIMAL),
    (float, ColumnKind.NUMBER),
    (str, ColumnKind.TEXT),
    (datetime, ColumnKind.DATETIME),
    (date, ColumnKind.DATE),
    (time, ColumnKind.TIME),
    (bytes | timedelta | UUID, ColumnKind.SCALAR),
)
#: Dialects whose timestamps hold no zone.
_ZONELESS: Final = frozenset({"sqlite", "mysql", "mariadb"})
#: An integer version's entity-tag: its digits, without a leading zero (20 at most: 64 bits).
_CANONICAL: Final = re.compile(r"0|[1-9][0-9]{0,19}")
_INT64_MAX: Final = (1 << 63) - 1
#: Bits of an integer column, by its type (SQLite's INTEGER holds 64 whatever it is called).
_BITS: Final = ((BigInteger, 64), (SmallInteger, 16), (Integer, 32))


def _column_type(column: Any, dialect: str) -> ColumnType | None:
    try:
        python_type = column.type.python_type
    except NotImplementedError:  # a type of the app's own: it may take anything
        return None
    if not isinstance(python_type, type):
        return None
    kind = next((kind for types, kind in _KINDS if issubclass(python_type, types)), None)
    if kind in (ColumnKind.DATETIME, ColumnKind.TIME):
        # SQLite and MySQL keep no zone: an offset is dropped, timezone=True or not.
        zoned = dialect not in _ZONELESS and bool(getattr(column.type, "timezone", False))
        return ColumnType(kind, zoned=zoned, scale=_second_digits(column.type, dialect))
    if kind is ColumnKind.NUMBER:
        if not _single(column.type, dialect):
            return ColumnType(kind)
        # MySQL gives back 6 significant digits (FLT_DIG), PostgreSQL as many as it takes.
        shown = 6 if dialect in ("mysql", "mariadb") else None
        return ColumnType(kind, precision=24, scale=shown)
    if kind is ColumnKind.DECIMAL:
        precision, scale = _numeric_digits(column.type, dialect)
        return ColumnType(kind, precision=precision, scale=scale)
    if kind is not ColumnKind.INTEGER:
        return None if kind is None else ColumnType(kind)
    bits = next((bits for types, bits in _BITS if isinstance(column.type, types)), 64)
    if dialect == "sqlite":
        bits = 64
    if getattr(column.type, "unsigned", False):  # MySQL's and MariaDB's UNSIGNED
        return ColumnType(kind, 0, (1 << bits) - 1)
    return ColumnType(kind, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def _second_digits(column_type: Any, dialect: str) -> int | None:
    """The digits of a second a time or timestamp column keeps (None: a microsecond's)."""
    if dialect in ("mysql", "mariadb"):
        # MySQL's DATETIME, TIMESTAMP and TIME keep none unless declared with them (fsp).
        return getattr(column_type, "fsp", None) or 0
    if dialect == "postgresql":
        return getattr(column_type, "precision", None)
    return None


def _single(column_type: Any, dialect: str) -> bool:
    """Whether a float column is single precision (FLOAT(p) up to 24 bits is, as SQL says)."""
    if dialect == "sqlite" or isinstance(column_type, Double):
        return False
    precision = getattr(column_type, "precision", None)
    if dialect in ("mysql", "mariadb"):
        # MySQL's FLOAT is single precision, its REAL a DOUBLE.
        return not isinstance(column_type, REAL) and (precision is None or precision <= 24)
    if dialect == "postgresql":
        return isinstance(column_type, REAL) or (precision is not None and precision <= 24)
    return False


def _numeric_digits(column_type: Any, dialect: str) -> tuple[int | None, int | None]:
    """The precision and scale a NUMERIC column holds, as its database declares it."""
    precision = getattr(column_type, "precision", None)
    scale = getattr(column_type, "scale", None)
    if dialect == "sqlite":
        # SQLite keeps any number; SQLAlchemy reads it back rounded to the scale.
        return None, scale
    if dialect in ("mysql", "mariadb") and precision is None:
        return 10, 0  # MySQL's DECIMAL is DECIMAL(10, 0)
    if precision is not None and scale is None:
        scale = 0  # NUMERIC(p) is NUMERIC(p, 0)
    return precision, scale


def is_expression(value: object) -> bool:
    return isinstance(value, ClauseElement) or hasattr(value, "__clause_element__")


def _guard_shape(versions: list[object] | None) -> str:
    if versions is None:
        return _ANY
    return _ONE if len(versions) == 1 else _SEVERAL
