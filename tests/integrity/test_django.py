"""The same violations through Django's ORM on each database.

Django re-raises the driver's error as its own (``django.db.IntegrityError``,
or ``OperationalError`` for MariaDB's CHECK failures) with the driver's
error as ``__cause__``; it does not keep the statement.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django")

import django
from django.conf import settings
from django.db import DatabaseError, connections, models
from tests.integrity.databases import POSTGRES, Database, create_schema
from tests.integrity.schema import CASES, Case
from tests.integrity.test_drivers import check

from httpconflict import classify
from httpconflict.catalog import load_catalog

_SQLITE = Database("sqlite", sqlite_path=str(Path(tempfile.mkdtemp()) / "django.db"))
_POSTGRES = Database("postgresql", schema=f"hc_test_{uuid.uuid4().hex[:12]}")
_MYSQL_NAME = f"hc_test_{uuid.uuid4().hex[:12]}"
ALIASES = {"sqlite": "hc_sqlite", "postgresql": "hc_pg", "mysql": "hc_maria"}

# Settings configure once per process, and another test module of this
# worker may have done it first: the databases are aliases of their own.
if not settings.configured:
    settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=True)
django.setup()
for _alias, _database in (
    (ALIASES["sqlite"], _SQLITE.django()),
    (ALIASES["postgresql"], _POSTGRES.django()),
    (ALIASES["mysql"], Database("mysql", mysql={"database": _MYSQL_NAME}).django()),
):
    connections.settings[_alias] = connections.configure_settings({"default": _database})["default"]


class User(models.Model):  # type: ignore[misc]
    id = models.IntegerField(primary_key=True)
    email = models.CharField(max_length=100, null=True)
    tenant = models.IntegerField(null=True)
    slug = models.CharField(max_length=50, null=True)
    handle = models.CharField(max_length=50, null=True)

    class Meta:
        app_label = "integrity"
        db_table = "users"
        managed = False


class Order(models.Model):  # type: ignore[misc]
    id = models.IntegerField(primary_key=True)
    user = models.ForeignKey(User, models.DO_NOTHING, db_constraint=False, null=True)
    price = models.IntegerField(null=True)
    qty = models.IntegerField(null=True)

    class Meta:
        app_label = "integrity"
        db_table = "orders"
        managed = False


MODELS: dict[str, type[models.Model]] = {"users": User, "orders": Order}


@pytest.fixture(scope="module")
def django_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """The schema, created where the Django settings above point."""
    import psycopg
    import pymysql

    request.getfixturevalue("postgres_server")
    server: dict[str, Any] = request.getfixturevalue("mariadb_server")
    create_schema(_SQLITE)
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {_POSTGRES.schema}")
    with pymysql.connect(**server) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {_MYSQL_NAME}")
    try:
        create_schema(_POSTGRES)
        create_schema(Database("mysql", mysql={**server, "database": _MYSQL_NAME}))
        yield
    finally:
        connections.close_all()
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {_POSTGRES.schema} CASCADE")
        with pymysql.connect(**server) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {_MYSQL_NAME}")


def django_failure(alias: str, case: Case) -> BaseException:
    try:
        if case.row is not None:
            table, values = case.row
            MODELS[table].objects.using(alias).create(**values)
        elif case.sql.startswith("DELETE"):
            User.objects.using(alias).filter(id=1).delete()
        else:
            with connections[alias].cursor() as cursor:
                cursor.execute(case.sql)
    except DatabaseError as error:
        caught: BaseException = error
        return caught
    raise AssertionError(f"{case.name} did not fail")


PAIRS = [
    (dialect, case)
    for dialect in ("sqlite", "postgresql", "mysql")
    for case in CASES
    if dialect in case.dialects
]


@pytest.mark.parametrize(("dialect", "case"), PAIRS, ids=[f"{d}-{c.name}" for d, c in PAIRS])
def test_django_orm_error_is_classified(dialect: str, case: Case, django_databases: None) -> None:
    alias = ALIASES[dialect]
    error = django_failure(alias, case)
    assert type(error).__module__ == "django.db.utils"
    catalog = load_catalog(connections[alias])
    violation = classify(error)
    check(catalog.complete(violation) if violation else None, case, dialect, statement_known=False)
