"""The owner's index function called by a hostile role: a unique key's index, nothing else.

`httpconflict_unique_index` runs with the rights of the tables' owner
(SECURITY DEFINER). A role granted EXECUTE on it, calling it with any
arguments it likes, or able to create functions and operators in the
tables' schema, must get no more than the build or drop of a unique key's
index: never its own code run as the owner, never an index under a key's
name that enforces something else, never the drop of another index.
Real roles on the real PostgreSQL: a non-superuser owner, a hostile role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from httpconflict.storage._pg_unique import SCHEMA as FUNCTION_SCHEMA
from httpconflict.storage._unique import index_name
from httpconflict.storage.postgres import SCHEMA as TABLES_SCHEMA

pytestmark = [pytest.mark.postgres]

CALL = "SELECT httpconflict_unique_index(%s, %s, %s, %s)"


@dataclass(frozen=True)
class Roles:
    owner_url: str
    hostile_url: str
    hostile: str


@pytest.fixture
def roles(postgres_server: str) -> Iterator[Roles]:
    """A database owned by a non-superuser that made the tables and the function; a
    hostile role granted what the docs grant the service, and CREATE on the schema
    (a database made before PostgreSQL 15, or a deployment that grants it)."""
    import psycopg

    suffix = uuid.uuid4().hex[:10]
    owner, hostile, database = f"hc_own7_{suffix}", f"hc_evil7_{suffix}", f"hc_fn7_{suffix}"
    base = postgres_server.rsplit("/", 1)[0]
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN")
        admin.execute(f"CREATE ROLE {hostile} LOGIN")
        admin.execute(f"CREATE DATABASE {database} OWNER {owner}")
    owner_url = base.replace("postgres@", f"{owner}@", 1) + "/" + database
    try:
        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute(TABLES_SCHEMA)
            conn.execute(FUNCTION_SCHEMA)
            conn.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {hostile}"
            )
            conn.execute(
                "GRANT EXECUTE ON FUNCTION httpconflict_unique_index(text, text, text[], boolean) "
                f"TO {hostile}"
            )
            conn.execute(f"GRANT CREATE ON SCHEMA public TO {hostile}")
        hostile_url = base.replace("postgres@", f"{hostile}@", 1) + "/" + database
        yield Roles(owner_url, hostile_url, hostile)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {hostile}")
            admin.execute(f"DROP ROLE IF EXISTS {owner}")


def indexes(roles: Roles) -> dict[str, str]:
    """Every index on the owner's tables: name -> definition."""
    import psycopg

    with psycopg.connect(roles.owner_url) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
    return dict(rows)


def test_functions_and_operators_a_role_adds_to_the_schema_never_run_as_the_owner(
    roles: Roles,
) -> None:
    """Overloads closer than pg_catalog's (cardinality(text[]), jsonb -> text, text = text
    variants) are never called by the function or the index it builds."""
    import psycopg

    with psycopg.connect(roles.hostile_url, autocommit=True) as evil:
        evil.execute("CREATE TABLE public.ran_as (who text)")
        evil.execute("GRANT INSERT ON public.ran_as TO PUBLIC")
        for signature, returns, body in [
            ("cardinality(text[])", "int", "1"),
            ("unnest(text[])", "SETOF text", "'x'"),
            ("format(text, text)", "text", "'x'"),
            ("nullif(jsonb, jsonb)", "jsonb", "NULL"),
            ("to_hex(integer)", "text", "'0'"),
            ("lpad(text, integer, text)", "text", "''"),
        ]:
            result = "RETURN NEXT" if returns.startswith("SETOF") else "RETURN"
            evil.execute(
                f"CREATE FUNCTION public.{signature} RETURNS {returns} LANGUAGE plpgsql AS $$ "
                f"BEGIN INSERT INTO public.ran_as VALUES (current_user); {result} {body}; "
                f"{'RETURN;' if result == 'RETURN NEXT' else ''} END $$"
            )
        evil.execute(
            "CREATE FUNCTION public.evil_arrow(jsonb, varchar) RETURNS jsonb LANGUAGE plpgsql "
            "IMMUTABLE AS $$ BEGIN INSERT INTO public.ran_as VALUES (current_user); "
            "RETURN NULL; END $$"
        )
        evil.execute(
            "CREATE OPERATOR public.-> (LEFTARG = jsonb, RIGHTARG = varchar, "
            "FUNCTION = public.evil_arrow)"
        )
        collection = "caf\u00e9-\U0001f600"
        name = index_name(collection, ("email",))
        evil.execute(CALL, (name, collection, ["email"], True))
        evil.execute(
            "INSERT INTO documents (collection, id, version, etag, body, modified_us) "
            "VALUES (%s, 'a', 1, 'e', '{\"email\": \"x\"}', 0)",
            (collection,),
        )
        with pytest.raises(psycopg.errors.UniqueViolation):
            evil.execute(
                "INSERT INTO documents (collection, id, version, etag, body, modified_us) "
                "VALUES (%s, 'b', 1, 'e', '{\"email\": \"x\"}', 0)",
                (collection,),
            )
        evil.execute(CALL, (name, "", [], False))
        (ran,) = evil.execute("SELECT count(*) FROM public.ran_as").fetchone() or (None,)
    assert ran == 0
    assert name not in indexes(roles)


HOSTILE_COLLECTIONS = [
    pytest.param("it's", id="quote"),
    pytest.param("a\\'; DROP TABLE documents; --", id="backslash-quote-semicolon"),
    pytest.param("$fn$ $$ %I %L %s", id="dollar-quotes-and-format"),
    pytest.param("\u0430dmin", id="cyrillic-homoglyph"),
    pytest.param('\U0001f600\u2028\u007f\t\n\x01"', id="astral-separator-controls"),
    pytest.param("x" * 10_000, id="ten-thousand-characters"),
]


@pytest.mark.parametrize("collection", HOSTILE_COLLECTIONS)
def test_a_key_of_any_collection_name_is_built_under_its_own_name_only(
    roles: Roles, collection: str
) -> None:
    """The function rebuilds the service's index name for the collection: it takes that name,
    and refuses it for another collection or other fields."""
    import psycopg

    key = ("tenant", "slug")
    name = index_name(collection, key)
    with psycopg.connect(roles.hostile_url, autocommit=True) as evil:
        for wrong in [(collection + " ", list(key)), (collection, ["slug", "tenant"])]:
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                evil.execute(CALL, (name, wrong[0], wrong[1], True))
        evil.execute(CALL, (name, collection, list(key), True))
    assert name in indexes(roles)


@pytest.mark.parametrize(
    ("arguments"),
    [
        pytest.param(("documents_pkey", "", [], False), id="drop-the-primary-key"),
        pytest.param(("pg_class_oid_index", "", [], False), id="drop-a-system-index"),
        pytest.param(("documents_deleted", "", [], False), id="drop-the-purge-index"),
        pytest.param(
            ("documents_unique_" + "0" * 24 + "\n", "", [], False), id="name-with-a-newline"
        ),
        pytest.param((None, "", [], False), id="null-name"),
        pytest.param((index_name("c", ("a",)), None, ["a"], True), id="null-collection"),
        pytest.param((index_name("c", ("a",)), "c", ["a"], None), id="null-wanted"),
        pytest.param((index_name("c", ("a",)), "c", ["a", None], True), id="null-field"),
        pytest.param((index_name("c", ("a'",)), "c", ["a'"], True), id="quote-in-field"),
        pytest.param((index_name("c", ("a",)), "c", ["a') OR true; --"], True), id="sql-in-field"),
        pytest.param(("documents_unique_" + "0" * 24, "c", ["a"], True), id="made-up-name"),
    ],
)
def test_anything_else_is_refused_and_changes_nothing(
    roles: Roles, arguments: tuple[object, ...]
) -> None:
    """invalid_parameter_value; the indexes are as they were."""
    import psycopg

    before = indexes(roles)
    with (
        psycopg.connect(roles.hostile_url, autocommit=True) as evil,
        pytest.raises(psycopg.errors.InvalidParameterValue),
    ):
        evil.execute(CALL, arguments)
    assert indexes(roles) == before


def test_an_index_of_another_table_named_as_a_key_is_not_dropped(roles: Roles) -> None:
    """Only an index on the documents table goes: the owner's other table keeps its index."""
    import psycopg

    name = index_name("c", ("a",))
    with psycopg.connect(roles.owner_url, autocommit=True) as owner:
        owner.execute("CREATE TABLE other (a int)")
        owner.execute(f"CREATE UNIQUE INDEX {name} ON other (a)")
    with (
        psycopg.connect(roles.hostile_url, autocommit=True) as evil,
        pytest.raises(psycopg.errors.InvalidParameterValue),
    ):
        evil.execute(CALL, (name, "", [], False))
    assert name in indexes(roles)
