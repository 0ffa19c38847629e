"""Writes with an Idempotency-Key against a real server, on every key store.

POST /v1/{c}, and PUT, PATCH and DELETE /v1/{c}/{id}: a retry whose first
answer was lost gets that answer, marked replayed, and nothing is written
again; the answer is recorded in the write's own transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import ServiceProcess, start_service

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    """One client for the module's small tests (each works in a collection of its own)."""
    with service.client() as client:
        yield client


def collection() -> str:
    return f"orders-{uuid.uuid4().hex[:12]}"


def documents(http: httpx.Client, name: str) -> list[object]:
    items: list[object] = http.get(f"/v1/{name}?limit=1000").json()["items"]
    return items


def post(
    http: httpx.Client, name: str, body: bytes, key: str | None, **headers: str
) -> httpx.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post(f"/v1/{name}", content=body, headers={**JSON, **headers})


def test_retry_replays_the_201(http: httpx.Client) -> None:
    """A retried POST gets the same 201 (body, Location, ETag), marked replayed; one document."""
    name, key = collection(), f'"{uuid.uuid4()}"'
    first = post(http, name, b'{"item": "tea"}', key)
    again = post(http, name, b'{"item": "tea"}', key)
    assert first.status_code == again.status_code == 201
    for header in ("location", "etag", "last-modified", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert len(documents(http, name)) == 1
    assert http.get(first.headers["location"]).content == b'{"item": "tea"}'


def test_other_body_same_key_is_422(http: httpx.Client) -> None:
    """The same key with another body: 422 problem, no second document."""
    name, key = collection(), f'"{uuid.uuid4()}"'
    post(http, name, b'{"item": "tea"}', key)
    response = post(http, name, b'{"item": "coffee"}', key)
    assert_problem(response, 422, "idempotency-key-reused")
    assert len(documents(http, name)) == 1


def test_same_key_other_authorization_is_independent(http: httpx.Client) -> None:
    """Without --auth, another Authorization header is another caller: its own document."""
    name, key = collection(), f'"{uuid.uuid4()}"'
    alice = post(http, name, b'{"item": "tea"}', key, Authorization="Bearer alice")
    bob = post(http, name, b'{"item": "tea"}', key, Authorization="Bearer bob")
    assert (alice.status_code, bob.status_code) == (201, 201)
    assert "idempotent-replayed" not in bob.headers
    assert alice.headers["location"] != bob.headers["location"]
    again = post(http, name, b'{"item": "tea"}', key, Authorization="bearer  alice")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == alice.headers["location"]
    assert len(documents(http, name)) == 2


def test_without_key_every_post_creates(http: httpx.Client) -> None:
    """Keys are optional by default: two POSTs without one make two documents."""
    name = collection()
    post(http, name, b"{}", None)
    post(http, name, b"{}", None)
    assert len(documents(http, name)) == 2


@pytest.mark.parametrize(
    "value",
    ['""', '"' + "k" * 256 + '"', "a, b", '"open'],
    ids=["empty", "over-255", "a-list", "malformed"],
)
def test_bad_keys_are_400_and_store_nothing(http: httpx.Client, value: str) -> None:
    """Malformed keys: 400 problem naming the header; no document."""
    name = collection()
    response = post(http, name, b"{}", value)
    assert assert_problem(response, 400, "malformed-header")["header"] == "Idempotency-Key"
    assert documents(http, name) == []


def test_two_keys_and_non_ascii_are_400(http: httpx.Client) -> None:
    """Two Idempotency-Key fields, or non-ASCII bytes: 400, no document."""
    name = collection()
    for pairs in (
        [(b"idempotency-key", b'"a"'), (b"idempotency-key", b'"b"')],
        [(b"idempotency-key", b'"cl\xc3\xa9"')],
    ):
        headers = httpx.Headers([(b"content-type", b"application/json"), *pairs])
        assert_problem(http.post(f"/v1/{name}", content=b"{}", headers=headers), 400)
    assert documents(http, name) == []


def versions(http: httpx.Client, url: str) -> int:
    return len(http.get(f"{url}/versions").json()["items"])


def test_a_retried_put_is_replayed_not_refused(http: httpx.Client) -> None:
    """A PUT with If-Match whose answer was lost: its retry gets that 200, not a 412 for itself."""
    url = f"/v1/{collection()}/doc"
    etag = http.put(url, content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    headers = {**JSON, "If-Match": etag.headers["etag"], "Idempotency-Key": '"put-1"'}
    first = http.put(url, content=b'{"n": 2}', headers=headers)
    again = http.put(url, content=b'{"n": 2}', headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    for header in ("etag", "last-modified", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert again.content == first.content == b'{"n": 2}'
    assert versions(http, url) == 2
    # Another writer holding the same ETag, with the same body, is a second writer: 412.
    other = http.put(url, content=b'{"n": 2}', headers={**headers, "Idempotency-Key": '"put-2"'})
    assert_problem(other, 412, "precondition-failed")


def test_a_created_put_is_replayed_as_201(http: httpx.Client) -> None:
    """PUT If-None-Match: * answered 201 replays as 201, not 412 (it exists now: because of it)."""
    url = f"/v1/{collection()}/doc"
    headers = {**JSON, "Idempotency-Key": '"create"', "If-None-Match": "*"}
    assert http.put(url, content=b"{}", headers=headers).status_code == 201
    again = http.put(url, content=b"{}", headers=headers)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert versions(http, url) == 1


def test_a_retried_patch_is_replayed(http: httpx.Client) -> None:
    """PATCH: the retry gets the patched document again; the patch is not applied twice."""
    url = f"/v1/{collection()}/doc"
    etag = http.put(url, content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    headers = {
        "content-type": "application/merge-patch+json",
        "If-Match": etag.headers["etag"],
        "Idempotency-Key": '"patch"',
    }
    first = http.patch(url, content=b'{"n": 2}', headers=headers)
    again = http.patch(url, content=b'{"n": 2}', headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content == b'{"n":2}'
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert versions(http, url) == 2


def test_a_retried_rebased_patch_is_replayed_with_its_base(http: httpx.Client) -> None:
    """A rebased PATCH's replay repeats Rebased-From and Preference-Applied."""
    url = f"/v1/{collection()}/doc"
    old = http.put(url, content=b'{"a": 1}', headers={**JSON, "If-None-Match": "*"})
    merge = {"content-type": "application/merge-patch+json"}
    http.patch(url, content=b'{"a": 2}', headers={**merge, "If-Match": old.headers["etag"]})
    headers = {
        **merge,
        "If-Match": old.headers["etag"],
        "Prefer": "rebase",
        "Idempotency-Key": '"rebased"',
    }
    first = http.patch(url, content=b'{"b": 1}', headers=headers)
    again = http.patch(url, content=b'{"b": 1}', headers=headers)
    assert first.status_code == again.status_code == 200
    for header in ("rebased-from", "preference-applied", "etag"):
        assert again.headers[header] == first.headers[header]
    assert versions(http, url) == 3


def test_a_retried_delete_is_replayed_as_204(http: httpx.Client) -> None:
    """DELETE: the retry gets its 204 again, not a 404 for the deletion it made itself."""
    url = f"/v1/{collection()}/doc"
    etag = http.put(url, content=b"{}", headers={**JSON, "If-None-Match": "*"})
    headers = {"If-Match": etag.headers["etag"], "Idempotency-Key": '"delete"'}
    assert http.delete(url, headers=headers).status_code == 204
    again = http.delete(url, headers=headers)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (204, "true")
    assert again.content == b""


def test_a_refusal_is_recorded_too(http: httpx.Client) -> None:
    """A keyed write refused (412) replays as the 412 it was, even after the state changed.

    So a client whose answer was lost learns that its write did not happen,
    rather than running into a new state and guessing.
    """
    url = f"/v1/{collection()}/doc"
    created = http.put(url, content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    headers = {**JSON, "If-Match": '"stale"', "Idempotency-Key": '"refused"'}
    first = http.put(url, content=b'{"n": 2}', headers=headers)
    assert_problem(first, 412, "precondition-failed")
    again = http.put(url, content=b'{"n": 2}', headers=headers)
    assert_problem(again, 412, "precondition-failed")
    assert again.headers["idempotent-replayed"] == "true"
    assert http.get(url).headers["etag"] == created.headers["etag"]


@pytest.mark.parametrize(
    ("first_headers", "status"),
    [
        ({"If-Match": '"stale"'}, 412),
        ({}, 428),  # no precondition at all
    ],
    ids=["after-412", "after-428"],
)
def test_a_key_resent_with_other_preconditions_is_422_not_the_old_refusal(
    http: httpx.Client, first_headers: dict[str, str], status: int
) -> None:
    """A client that keeps its key after a 412 or 428, and sends the write again with the
    document's current ETag, sends another request: 422 saying so, not the old refusal
    replayed for ever (which told it to do what it had just done)."""
    url = f"/v1/{collection()}/doc"
    created = http.put(url, content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    first = http.put(url, content=b'{"n": 2}', headers={**JSON, **key, **first_headers})
    assert first.status_code == status, first.text
    fresh = {"If-Match": created.headers["etag"]}
    again = http.put(url, content=b'{"n": 2}', headers={**JSON, **key, **fresh})
    problem = assert_problem(again, 422, "idempotency-key-reused")
    assert "precondition" in problem["detail"]
    assert "idempotent-replayed" not in again.headers
    assert http.get(url).headers["etag"] == created.headers["etag"]
    # With a key of its own, the write is taken.
    taken = http.put(
        url, content=b'{"n": 2}', headers={**JSON, **fresh, "Idempotency-Key": f'"{uuid.uuid4()}"'}
    )
    assert taken.status_code == 200, taken.text


def test_a_key_resent_as_another_patch_format_is_422(http: httpx.Client) -> None:
    """The same bytes as a JSON Patch and as a Merge Patch are two requests."""
    url = f"/v1/{collection()}/doc"
    created = http.put(url, content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    headers = {"If-Match": created.headers["etag"], "Idempotency-Key": f'"{uuid.uuid4()}"'}
    body = b'{"n": 2}'
    first = http.patch(url, content=body, headers={**headers, "content-type": "application/json"})
    assert first.status_code == 415, first.text
    merge = {**headers, "content-type": "application/merge-patch+json"}
    assert_problem(http.patch(url, content=body, headers=merge), 422, "idempotency-key-reused")


def test_a_key_resent_in_utf_8_after_a_charset_refusal_is_422_not_the_old_415(
    http: httpx.Client,
) -> None:
    """A POST refused 415 for its charset, sent again in UTF-8 as the 415 says, under the
    same key: another request (422), not "charset 'latin-1' is not accepted" replayed."""
    url = f"/v1/{collection()}"
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    latin = {"Content-Type": "application/json; charset=latin-1", **key}
    first = http.post(url, content=b'{"n": 1}', headers=latin)
    assert first.status_code == 415, first.text
    utf8 = {"Content-Type": "application/json; charset=utf-8", **key}
    again = http.post(url, content=b'{"n": 1}', headers=utf8)
    assert_problem(again, 422, "idempotency-key-reused")
    assert "idempotent-replayed" not in again.headers


def test_a_comma_inside_an_entity_tag_is_not_a_list_separator(http: httpx.Client) -> None:
    """``If-Match: "a, b"`` (no entity-tag: a space inside) got 400; ``"a,b"`` (one entity-tag
    holding a comma) under the same key is another request, not that 400 replayed."""
    url = f"/v1/{collection()}/doc"
    http.put(url, content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    spaced = http.put(url, content=b'{"n": 2}', headers={**JSON, **key, "If-Match": '"a, b"'})
    assert spaced.status_code == 400, spaced.text
    one_tag = http.put(url, content=b'{"n": 2}', headers={**JSON, **key, "If-Match": '"a,b"'})
    assert_problem(one_tag, 422, "idempotency-key-reused")


def test_a_retry_that_writes_its_fields_otherwise_is_still_replayed(http: httpx.Client) -> None:
    """Field lines split or joined, spaces after commas, a media type's case and parameters:
    the same request, replayed."""
    url = f"/v1/{collection()}/doc"
    created = http.put(url, content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    etag = created.headers["etag"]
    key = f'"{uuid.uuid4()}"'
    first = http.put(
        url,
        content=b'{"n": 2}',
        headers=[
            ("content-type", "application/json"),
            ("If-Match", f'"other", {etag}'),
            ("Idempotency-Key", key),
        ],
    )
    assert first.status_code == 200, first.text
    again = http.put(
        url,
        content=b'{"n": 2}',
        headers=[
            ("content-type", "Application/JSON; charset=utf-8"),
            ("If-Match", '"other"'),
            ("If-Match", etag),
            ("Idempotency-Key", key),
        ],
    )
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (200, "true")
    assert versions(http, url) == 2


def test_the_same_key_on_another_document_is_422(http: httpx.Client) -> None:
    """A key names one request: another target under it is a 422, and nothing is written."""
    name = collection()
    headers = {**JSON, "If-None-Match": "*", "Idempotency-Key": '"one"'}
    assert http.put(f"/v1/{name}/a", content=b"{}", headers=headers).status_code == 201
    assert_problem(
        http.put(f"/v1/{name}/b", content=b"{}", headers=headers), 422, "idempotency-key-reused"
    )
    assert_problem(http.get(f"/v1/{name}/b"), 404, "not-found")


def test_required_keys(tmp_path_factory: pytest.TempPathFactory) -> None:
    """--idempotency-required: a POST without a key is a 400 problem and creates nothing.

    A collection's settings need none: their PUT is a replacement.
    """
    db = str(tmp_path_factory.mktemp("req") / "req.db")
    with (
        start_service(db, tmp_path_factory.mktemp("log"), extra=("--idempotency-required",)) as svc,
        svc.client() as http,
    ):
        name = collection()
        assert_problem(post(http, name, b"{}", None), 400, "idempotency-key-missing")
        assert documents(http, name) == []
        assert post(http, name, b"{}", '"k"').status_code == 201
        settings = http.put(f"/v1/_collections/{name}", json={"unique": ["sku"]})
        assert settings.status_code == 200, settings.text


# -- 50 concurrent identical POSTs, on every store -------------------------------------------


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def keyed_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """Two workers, keys beside the documents (SQLite, PostgreSQL) or in Redis."""
    extra: tuple[str, ...] = ()
    if request.param == "postgres":
        db = request.getfixturevalue("postgres_schema")
    else:
        db = str(tmp_path_factory.mktemp("keyed") / "keyed.db")
    if request.param == "redis":
        extra = ("--idempotency", request.getfixturevalue("redis_server"))
    with start_service(db, tmp_path_factory.mktemp("log"), workers=2, extra=extra) as service:
        yield service


@pytest.mark.slow
def test_fifty_concurrent_duplicates_create_one_document(keyed_service: ServiceProcess) -> None:
    """50 identical keyed POSTs at once: one document; every answer its 201 replayed, or 409."""
    name, key = collection(), f'"{uuid.uuid4()}"'
    body = b'{"item": "tea", "quantity": 2}'

    async def all_at_once() -> list[httpx.Response]:
        # One client, a connection of its own for each of the 50 requests sent at once
        # (its pool opens one per request while none is idle): as 50 clients, without
        # building 50 TLS contexts.
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        async with httpx.AsyncClient(
            base_url=keyed_service.url, timeout=30, limits=limits
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"/v1/{name}", content=body, headers={**JSON, "Idempotency-Key": key}
                    )
                    for _ in range(50)
                )
            )

    answers = asyncio.run(all_at_once())
    print(
        "statuses:",
        sorted(a.status_code for a in answers).count(201),
        "x 201,",
        sorted(a.status_code for a in answers).count(409),
        "x 409",
    )
    created = [a for a in answers if a.status_code == 201]
    conflicts = [a for a in answers if a.status_code == 409]
    assert len(created) + len(conflicts) == 50, {a.status_code for a in answers}
    assert created
    assert len({a.headers["location"] for a in created}) == 1
    assert {a.content for a in created} == {body}
    assert sum("idempotent-replayed" not in a.headers for a in created) == 1
    for conflict in conflicts:
        assert_problem(conflict, 409, "idempotency-key-in-flight")
        assert conflict.headers["retry-after"] == "1"
    with keyed_service.client() as http:
        assert len(documents(http, name)) == 1
        # Once the first has finished, every retry is a replay.
        late = post(http, name, body, key)
        assert late.headers["idempotent-replayed"] == "true"
        assert late.headers["location"] == created[0].headers["location"]
