"""One schema on every database, and the writes that break each of its constraints.

``users`` has a single-column unique constraint (email), a two-column one
(tenant, slug) and a unique index whose name does not say its column
(``ix_people_lookup`` on handle, an expression index where the database has
them). ``orders`` has a foreign key, a named and an unnamed CHECK.
PostgreSQL adds an exclusion constraint on ``bookings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from httpconflict import ViolationKind

_USERS = """CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(100) NOT NULL,
    tenant INTEGER,
    slug VARCHAR(50),
    handle VARCHAR(50),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT uq_tenant_slug UNIQUE (tenant, slug)
)"""
_ORDERS = """CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    user_id INTEGER,
    price INTEGER,
    qty INTEGER CHECK (qty >= 0),
    CONSTRAINT price_positive CHECK (price > 0),
    CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)
)"""
_SEED = [
    "INSERT INTO users (id, email, tenant, slug, handle) VALUES (1, 'a@x', 1, 'a', 'Ann')",
    "INSERT INTO orders (id, user_id, price, qty) VALUES (1, 1, 5, 1)",
]

DDL: dict[str, list[str]] = {
    "sqlite": [
        _USERS,
        "CREATE UNIQUE INDEX ix_people_lookup ON users (lower(handle))",
        _ORDERS,
        *_SEED,
    ],
    "postgresql": [
        _USERS,
        "CREATE UNIQUE INDEX ix_people_lookup ON users (lower(handle))",
        _ORDERS,
        "CREATE TABLE bookings (id INTEGER PRIMARY KEY, during int4range, "
        "CONSTRAINT bookings_no_overlap EXCLUDE USING gist (during WITH &&))",
        *_SEED,
        "INSERT INTO bookings VALUES (1, '[1,5)')",
    ],
    # MariaDB has no expression indexes; its default collation ignores case.
    "mysql": [
        _USERS.replace(
            "UNIQUE (tenant, slug)", "UNIQUE (tenant, slug), UNIQUE INDEX ix_people_lookup (handle)"
        ),
        _ORDERS,
        *_SEED,
    ],
}
TABLES = ("bookings", "orders", "users")


@dataclass(frozen=True)
class Case:
    """A write that breaks one constraint, and what a classification should find.

    `row` is the same write as a new ORM object (table, values); None for
    the DELETE of user 1.
    """

    name: str
    sql: str
    kind: ViolationKind
    table: str
    columns: tuple[str, ...]
    row: tuple[str, dict[str, Any]] | None = None
    constraint: str | None = None
    referenced: bool = False
    dialects: tuple[str, ...] = ("sqlite", "postgresql", "mysql")


def _insert(table: str, **values: Any) -> dict[str, Any]:
    columns = ", ".join(values)
    literals = ", ".join("NULL" if v is None else repr(v) for v in values.values())
    return {"sql": f"INSERT INTO {table} ({columns}) VALUES ({literals})", "row": (table, values)}


def _user(id: int, email: str | None, tenant: int, slug: str, handle: str) -> dict[str, Any]:
    return _insert("users", id=id, email=email, tenant=tenant, slug=slug, handle=handle)


def _order(id: int, user_id: int, price: int, qty: int) -> dict[str, Any]:
    return _insert("orders", id=id, user_id=user_id, price=price, qty=qty)


UNIQUE, NOT_NULL, FOREIGN_KEY, CHECK = (
    ViolationKind.UNIQUE,
    ViolationKind.NOT_NULL,
    ViolationKind.FOREIGN_KEY,
    ViolationKind.CHECK,
)
CASES = [
    Case(
        "unique", **_user(2, "a@x", 2, "b", "Bob"), kind=UNIQUE, table="users", columns=("email",)
    ),
    Case(
        "unique-two-columns",
        **_user(2, "b@x", 1, "a", "Bob"),
        kind=UNIQUE,
        table="users",
        columns=("tenant", "slug"),
    ),
    Case(
        "unique-index-name",
        **_user(2, "b@x", 2, "b", "ANN"),
        kind=UNIQUE,
        table="users",
        columns=("handle",),
        constraint="ix_people_lookup",
    ),
    Case(
        "primary-key", **_user(1, "c@x", 3, "c", "Cy"), kind=UNIQUE, table="users", columns=("id",)
    ),
    Case(
        "not-null",
        **_user(2, None, 2, "b", "Bob"),
        kind=NOT_NULL,
        table="users",
        columns=("email",),
    ),
    Case(
        "foreign-key", **_order(2, 99, 5, 1), kind=FOREIGN_KEY, table="orders", columns=("user_id",)
    ),
    Case(
        "still-referenced",
        "DELETE FROM users WHERE id = 1",
        FOREIGN_KEY,
        "orders",
        ("user_id",),
        referenced=True,
    ),
    Case(
        "check-named",
        **_order(2, 1, -1, 1),
        kind=CHECK,
        table="orders",
        columns=("price",),
        constraint="price_positive",
    ),
    Case("check-unnamed", **_order(2, 1, 5, -1), kind=CHECK, table="orders", columns=("qty",)),
    Case(
        "exclusion",
        "INSERT INTO bookings VALUES (2, '[2,3)')",
        ViolationKind.EXCLUSION,
        "bookings",
        ("during",),
        constraint="bookings_no_overlap",
        dialects=("postgresql",),
    ),
]

# What cannot be known, by (dialect, case): the error does not say it and
# the catalog cannot tell it apart. Through SQLAlchemy, which keeps the
# failed statement, these gaps close (its table names the constraint).
GAPS: dict[tuple[str, str], tuple[str | None, tuple[str, ...], bool]] = {
    # SQLite says only "FOREIGN KEY constraint failed", not even which side.
    ("sqlite", "foreign-key"): (None, (), False),
    ("sqlite", "still-referenced"): (None, (), False),
    # MariaDB says "for key 'PRIMARY'" without the table, and every table has one.
    ("mysql", "primary-key"): (None, (), False),
    # MariaDB says "Column 'email' cannot be null" without the table.
    ("mysql", "not-null"): (None, ("email",), False),
}


def cases(dialect: str) -> list[Case]:
    return [case for case in CASES if dialect in case.dialects]


def expected(
    dialect: str, case: Case, *, statement_known: bool
) -> tuple[str | None, tuple[str, ...], bool]:
    """The (table, columns, referenced) a classification should find."""
    gap = GAPS.get((dialect, case.name))
    if gap is None or statement_known:
        return case.table, case.columns, case.referenced
    return gap
