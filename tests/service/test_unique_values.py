"""Unique fields mean the same on SQLite and PostgreSQL: the same writes get the same answers.

SQLite's unique index reads a field with json_extract (numbers as 64-bit
integers or doubles, objects and arrays as their text), PostgreSQL's as
jsonb (numbers exactly, objects and arrays by value). They agree on strings,
booleans, null, integers within ±2^53 and numbers of at most 15 significant
digits; for any other value of a unique field they disagree, so such values
are refused (422 ``unique-value-unsupported``) on both. Each table row runs
the same two writes on both stores, in process, and compares the answers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict.service.app import create_app
from httpconflict.service.config import ServiceConfig
from httpconflict.storage._unique import MAX_KEYS
from tests.problems import assert_problem

JSON = {"content-type": "application/json"}
MERGE = {"content-type": "application/merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}
SLUG = "unique-value-unsupported"
ABSENT = ""  # a row's value that is not written: the field is left out

# (first value, second value, the two answers): the first is PUT with
# If-None-Match: *, the second POSTed, both as the JSON text written here.
ROWS = [
    pytest.param("1", "1.0", (201, 409), id="int-and-point-zero"),
    pytest.param("1", "1e0", (201, 409), id="int-and-exponent"),
    pytest.param("1", "10E-1", (201, 409), id="int-and-negative-exponent"),
    pytest.param("1.0", "10E-1", (201, 409), id="point-zero-and-exponent"),
    pytest.param("0.1", "0.10", (201, 409), id="trailing-zero"),
    pytest.param("100", "1e2", (201, 409), id="hundred"),
    pytest.param("1000000000000000", "1.0e15", (201, 409), id="ten-to-15"),
    pytest.param("-0.0", "0", (201, 409), id="negative-zero"),
    pytest.param("0.5", "0.25", (201, 201), id="different-fractions"),
    pytest.param("1e300", "1e300", (201, 409), id="huge-one-digit"),
    pytest.param("123456789012345", "123456789012345", (201, 409), id="15-digits-same"),
    pytest.param("123456789012345", "123456789012346", (201, 201), id="15-digits-apart"),
    pytest.param("0.123456789012345", "0.123456789012346", (201, 201), id="15-digit-fractions"),
    pytest.param("9007199254740992", "9007199254740991", (201, 201), id="two-to-53-fits"),
    pytest.param("-9007199254740992", "-9007199254740992", (201, 409), id="minus-two-to-53"),
    pytest.param("9007199254740993", "1", (422, 201), id="past-two-to-53"),
    pytest.param("-9007199254740993", "1", (422, 201), id="past-minus-two-to-53"),
    pytest.param("1152921504606846976", "1.152921504606847e18", (422, 422), id="two-to-60"),
    pytest.param("18446744073709551617", "18446744073709551616", (422, 422), id="past-64-bits"),
    pytest.param("0.1234567890123456", "0.1234567890123456", (422, 422), id="16-digits"),
    pytest.param("0.30000000000000004", "0.3", (422, 201), id="17-digits"),
    pytest.param('{"a":1,"b":2}', '{"b":2,"a":1}', (422, 422), id="object-member-order"),
    pytest.param("[1,2]", "[1.0,2]", (422, 422), id="array-number-text"),
    pytest.param("{}", "{}", (422, 422), id="empty-object"),
    pytest.param("[]", "[]", (422, 422), id="empty-array"),
    pytest.param('"a"', '"a"', (201, 409), id="same-string"),
    pytest.param('"A"', '"a"', (201, 201), id="case"),
    pytest.param('"\\u00e9"', '"\u00e9"', (201, 409), id="escaped-and-raw"),
    pytest.param('"\u00e9"', '"e\u0301"', (201, 201), id="nfc-and-nfd"),
    pytest.param('"1"', "1", (201, 201), id="string-and-number"),
    pytest.param("true", "true", (201, 409), id="true-twice"),
    pytest.param("true", "false", (201, 201), id="true-and-false"),
    pytest.param("true", "1", (201, 201), id="true-and-one"),
    pytest.param("false", "0", (201, 201), id="false-and-zero"),
    pytest.param("null", "null", (201, 201), id="null-twice"),
    pytest.param(ABSENT, ABSENT, (201, 201), id="absent-twice"),
    pytest.param("null", ABSENT, (201, 201), id="null-and-absent"),
]


def _body(value: str, field: str = "k") -> bytes:
    return (f'{{"{field}":{value}}}' if value != ABSENT else "{}").encode()


Send = Callable[..., Awaitable[httpx.Response]]


@asynccontextmanager
async def _client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ServiceConfig(db=db, log_format="off"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


async def _both(sqlite: str, postgres: str, scenario: Callable[[httpx.AsyncClient], Any]) -> Any:
    """`scenario` run on each store in turn: its results on SQLite and on PostgreSQL."""
    results = []
    for db in (sqlite, postgres):
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(_client(db))
            results.append(await scenario(http))
    return tuple(results)


async def _declare(http: httpx.AsyncClient, collection: str, unique: list[Any]) -> None:
    answer = await http.put(f"/v1/_collections/{collection}", json={"unique": unique})
    assert answer.status_code == 200, answer.text


def _canonical(value: Any) -> str:
    """One text per JSON value as JSON compares it: numbers exactly, members in any order."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Decimal):
        return "n" + str(value.normalize()) if value else "n0"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    return "{" + ",".join(f"{json.dumps(k)}:{_canonical(value[k])}" for k in sorted(value)) + "}"


async def _no_duplicate(http: httpx.AsyncClient, collection: str, field: str = "k") -> None:
    """No two documents of `collection` hold values of `field` that are equal as JSON."""
    listed = await http.get(f"/v1/{collection}")
    assert listed.status_code == 200, listed.text
    values = []
    for item in listed.json()["items"]:
        answer = await http.get(f"/v1/{collection}/{item['id']}")
        document = json.loads(answer.content, parse_float=Decimal, parse_int=Decimal)
        if document.get(field) is not None:
            values.append(_canonical(document[field]))
    assert len(values) == len(set(values)), values


@pytest.fixture
def dbs(tmp_path: Path, postgres_schema: str) -> tuple[str, str]:
    return str(tmp_path / "service.db"), postgres_schema


def test_both_stores_answer_every_row_alike(dbs: tuple[str, str]) -> None:
    """Each row's PUT and POST get the same answers on SQLite and PostgreSQL, the expected
    ones, and no collection ends with two documents holding equal values of "k"."""
    rows: list[tuple[str, str, str, tuple[int, int]]] = [
        (str(p.id), *p.values)  # type: ignore[misc]  # pytest.param's values are `object`s
        for p in ROWS
    ]

    async def scenario(http: httpx.AsyncClient) -> dict[str, tuple[int, int]]:
        answers = {}
        # A row per unique key, as many keys as a collection may have: few declarations.
        for start in range(0, len(rows), MAX_KEYS):
            collection = f"v-{uuid.uuid4().hex[:12]}"
            chunk = rows[start : start + MAX_KEYS]
            fields = [f"k{n}" for n in range(len(chunk))]
            await _declare(http, collection, fields)
            for field, (name, first, second, _) in zip(fields, chunk, strict=True):
                put = await http.put(
                    f"/v1/{collection}/{field}",
                    content=_body(first, field),
                    headers={**JSON, "If-None-Match": "*"},
                )
                post = await http.post(
                    f"/v1/{collection}", content=_body(second, field), headers=JSON
                )
                answers[name] = (put.status_code, post.status_code)
                for answer in (put, post):
                    if answer.status_code == 422:
                        problem = assert_problem(answer, 422, SLUG)
                        assert problem["fields"] == [field], problem
                        assert f'"{field}"' in problem["detail"], problem
            for field in fields:
                await _no_duplicate(http, collection, field)
        return answers

    on_sqlite, on_postgres = asyncio.run(_both(*dbs, scenario))
    expected = {name: outcome for name, _, _, outcome in rows}
    assert {n: a for n, a in on_sqlite.items() if a != on_postgres[n]} == {}, on_postgres
    assert {n: a for n, a in on_sqlite.items() if a != expected[n]} == {}


def test_every_write_path_refuses_alike(dbs: tuple[str, str]) -> None:
    """PUT replace, POST, merge patch, JSON Patch and a rebased patch refuse an object, an
    array or a number past 2^53 in a unique field (of a compound key too), on both stores;
    other fields may hold anything."""

    async def scenario(http: httpx.AsyncClient) -> list[tuple[str, int]]:
        collection = f"w-{uuid.uuid4().hex[:12]}"
        await _declare(http, collection, ["k", ["t", "s"]])
        url = f"/v1/{collection}/d"
        created = await http.put(
            url, content=b'{"k":1,"t":"x","s":"y","o":{"a":[1]}}', headers=JSON
        )
        etag = created.headers["etag"]
        answers = [("create", created.status_code)]

        async def record(what: str, answer: httpx.Response) -> None:
            answers.append((what, answer.status_code))
            if answer.status_code == 422:
                problem = assert_problem(answer, 422, SLUG)
                answers.append((what + " fields", len(problem["fields"])))

        replace = {**JSON, "If-Match": etag}
        await record("put object", await http.put(url, content=b'{"k":{"a":1}}', headers=replace))
        await record(
            "post array", await http.post(f"/v1/{collection}", content=b'{"s":[1]}', headers=JSON)
        )
        await record(
            "merge patch",
            await http.patch(url, content=b'{"k":[1]}', headers={**MERGE, "If-Match": etag}),
        )
        await record(
            "json patch",
            await http.patch(
                url,
                content=b'[{"op":"add","path":"/t","value":{"a":1}}]',
                headers={**JSON_PATCH, "If-Match": etag},
            ),
        )
        moved = await http.patch(url, content=b'{"o":2}', headers={**MERGE, "If-Match": etag})
        answers.append(("patch another field", moved.status_code))
        await record(
            "rebased patch",
            await http.patch(
                url,
                content=b'{"k":9007199254740993}',
                headers={**MERGE, "If-Match": etag, "Prefer": "rebase"},
            ),
        )
        stored = await http.get(url)
        assert stored.headers["etag"] == moved.headers["etag"]
        await _no_duplicate(http, collection)
        return answers

    on_sqlite, on_postgres = asyncio.run(_both(*dbs, scenario))
    assert on_sqlite == on_postgres
    assert on_sqlite == [
        ("create", 201),
        ("put object", 422),
        ("put object fields", 1),
        ("post array", 422),
        ("post array fields", 2),
        ("merge patch", 422),
        ("merge patch fields", 1),
        ("json patch", 422),
        ("json patch fields", 2),
        ("patch another field", 200),
        ("rebased patch", 422),
        ("rebased patch fields", 1),
    ]


def test_keyed_writes_record_the_refusal_and_replays_do_not_change(dbs: tuple[str, str]) -> None:
    """A keyed write refused 422 is replayed as 422; an answer recorded before the key was
    declared is replayed as it was, writing nothing."""

    async def scenario(http: httpx.AsyncClient) -> list[tuple[int, str | None]]:
        collection = f"r-{uuid.uuid4().hex[:12]}"
        early = {**JSON, "Idempotency-Key": f'"{uuid.uuid4()}"'}
        first = await http.post(f"/v1/{collection}", content=b'{"k":{"a":1}}', headers=early)
        gone = await http.delete(
            first.headers["location"], headers={"If-Match": first.headers["etag"]}
        )
        assert gone.status_code == 204
        await _declare(http, collection, ["k"])
        late = {**JSON, "Idempotency-Key": f'"{uuid.uuid4()}"'}
        answers = []
        for headers in (early, late, late):
            answer = await http.post(f"/v1/{collection}", content=b'{"k":{"a":1}}', headers=headers)
            answers.append((answer.status_code, answer.headers.get("idempotent-replayed")))
        listed = await http.get(f"/v1/{collection}")
        assert listed.json()["items"] == []
        return [(first.status_code, None), *answers]

    on_sqlite, on_postgres = asyncio.run(_both(*dbs, scenario))
    assert on_sqlite == on_postgres
    assert on_sqlite == [(201, None), (201, "true"), (422, None), (422, "true")]


def test_declaring_over_such_values_is_refused_naming_documents(dbs: tuple[str, str]) -> None:
    """A declaration adding a key whose field holds an object or a number past 2^53 in stored
    documents is a 422 naming the field and the documents; nothing changes. Keys already
    declared are not checked again (declaring them again changes nothing)."""

    async def scenario(http: httpx.AsyncClient) -> list[Any]:
        collection = f"d-{uuid.uuid4().hex[:12]}"
        for doc_id, body in (
            ("plain", b'{"k":1,"m":"x"}'),
            ("object", b'{"k":{"a":1},"m":"y"}'),
            ("big", b'{"k":9007199254740993,"m":"z"}'),
        ):
            answer = await http.put(f"/v1/{collection}/{doc_id}", content=body, headers=JSON)
            assert answer.status_code == 201, answer.text
        refused = await http.put(f"/v1/_collections/{collection}", json={"unique": ["m", "k"]})
        problem = assert_problem(refused, 422, SLUG)
        settings = await http.get(f"/v1/_collections/{collection}")
        await _declare(http, collection, ["m"])
        await _declare(http, collection, ["m"])
        return [problem["fields"], sorted(problem["documents"]), settings.json()["unique"]]

    on_sqlite, on_postgres = asyncio.run(_both(*dbs, scenario))
    assert on_sqlite == on_postgres
    assert on_sqlite == [["k"], ["big", "object"], []]
