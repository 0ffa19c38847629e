"""Unique fields over HTTP (/v1/_collections/{c}), on a real server (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from httpconflict.storage._unique import index_name
from tests.problems import assert_problem
from tests.servers import ServiceProcess

JSON = {"content-type": "application/json"}
TAKEN = "ann@example.com"


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


@pytest.fixture
def users(http: httpx.Client) -> str:
    """A fresh collection whose "email" is unique and holds TAKEN in document "ann"."""
    name = f"users-{uuid.uuid4().hex[:12]}"
    declare(http, name, ["email"])
    put(http, f"/v1/{name}/ann", {"email": TAKEN, "name": "Ann"}, 201)
    return name


def declare(http: httpx.Client, collection: str, unique: list[Any]) -> httpx.Response:
    response = http.put(f"/v1/_collections/{collection}", json={"unique": unique})
    assert response.status_code == 200, response.text
    assert response.json() == {"collection": collection, "unique": unique}
    return response


def put(
    http: httpx.Client, url: str, body: dict[str, Any], status: int, **headers: str
) -> httpx.Response:
    headers.setdefault("If-None-Match", "*")
    response = http.put(url, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response


def assert_unique_violation(response: httpx.Response, fields: list[str]) -> dict[str, Any]:
    """409 unique-violation naming `fields`, with no stored value in it."""
    problem = assert_problem(response, 409, "unique-violation")
    assert [c["fields"] for c in problem["conflicts"]] == [fields]
    assert TAKEN not in response.text
    return problem


def test_declaration_reads_back(http: httpx.Client) -> None:
    """PUT answers the declaration; GET and HEAD read it; none declared is an empty list."""
    name = f"c-{uuid.uuid4().hex[:12]}"
    assert http.get(f"/v1/_collections/{name}").json() == {"collection": name, "unique": []}
    declare(http, name, ["email", ["tenant", "slug"]])
    response = http.get(f"/v1/_collections/{name}")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"collection": name, "unique": ["email", ["tenant", "slug"]]}
    assert http.head(f"/v1/_collections/{name}").status_code == 200
    declare(http, name, [])
    assert http.get(f"/v1/_collections/{name}").json()["unique"] == []


def test_put_create_with_a_taken_value_is_409(http: httpx.Client, users: str) -> None:
    """PUT If-None-Match: * with another document's email: 409 naming "email"; nothing created."""
    response = http.put(f"/v1/{users}/bob", json={"email": TAKEN}, headers={"If-None-Match": "*"})
    problem = assert_unique_violation(response, ["email"])
    assert problem["conflicts"][0]["constraint"] == index_name(users, ("email",))
    assert_problem(http.get(f"/v1/{users}/bob"), 404, "not-found")


def test_put_replace_with_a_taken_value_is_409(http: httpx.Client, users: str) -> None:
    """PUT If-Match changing email to a taken one: 409; the document keeps its version."""
    etag = put(http, f"/v1/{users}/bob", {"email": "bob@example.com"}, 201).headers["etag"]
    response = http.put(f"/v1/{users}/bob", json={"email": TAKEN}, headers={"If-Match": etag})
    assert_unique_violation(response, ["email"])
    assert http.get(f"/v1/{users}/bob").headers["etag"] == etag
    assert len(http.get(f"/v1/{users}/bob/versions").json()["items"]) == 1


def test_post_with_a_taken_value_is_409(http: httpx.Client, users: str) -> None:
    """POST a duplicate, with or without an Idempotency-Key: 409, no document."""
    for headers in ({}, {"Idempotency-Key": f'"{uuid.uuid4()}"'}):
        response = http.post(f"/v1/{users}", json={"email": TAKEN}, headers=headers)
        assert_unique_violation(response, ["email"])
    assert len(http.get(f"/v1/{users}").json()["items"]) == 1


def test_a_refused_post_is_recorded_as_refused(http: httpx.Client, users: str) -> None:
    """A keyed POST refused (409) writes nothing; its key records the refusal, so a retry whose
    answer was lost learns it, even once the value is free. A new attempt takes a new key."""
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    assert_unique_violation(
        http.post(f"/v1/{users}", json={"email": TAKEN}, headers=key), ["email"]
    )
    assert len(http.get(f"/v1/{users}").json()["items"]) == 1
    etag = http.get(f"/v1/{users}/ann").headers["etag"]
    assert http.delete(f"/v1/{users}/ann", headers={"If-Match": etag}).status_code == 204
    retried = http.post(f"/v1/{users}", json={"email": TAKEN}, headers=key)
    assert_unique_violation(retried, ["email"])
    assert retried.headers["idempotent-replayed"] == "true"
    anew = http.post(f"/v1/{users}", json={"email": TAKEN}, headers={"Idempotency-Key": '"new"'})
    assert anew.status_code == 201, anew.text


def test_compound_key_names_all_its_fields(http: httpx.Client) -> None:
    """A compound key conflicts only on the same combination, and names every field."""
    name = f"pages-{uuid.uuid4().hex[:12]}"
    declare(http, name, [["tenant", "slug"]])
    put(http, f"/v1/{name}/a", {"tenant": "t1", "slug": "home"}, 201)
    put(http, f"/v1/{name}/b", {"tenant": "t2", "slug": "home"}, 201)
    response = http.post(f"/v1/{name}", json={"slug": "home", "tenant": "t1"})
    problem = assert_unique_violation(response, ["tenant", "slug"])
    assert "tenant and slug" in problem["detail"]


def test_missing_null_and_types(http: httpx.Client, users: str) -> None:
    """Missing or null values never conflict; "1" and 1 are different values."""
    for n in range(2):
        put(http, f"/v1/{users}/none-{n}", {"name": "x"}, 201)
        put(http, f"/v1/{users}/null-{n}", {"email": None}, 201)
    put(http, f"/v1/{users}/string", {"email": "1"}, 201)
    put(http, f"/v1/{users}/number", {"email": 1}, 201)
    assert_unique_violation(http.post(f"/v1/{users}", json={"email": 1}), ["email"])


def test_declaring_over_duplicates_is_409_and_changes_nothing(
    http: httpx.Client, users: str
) -> None:
    """Stored documents sharing a value: the declaration is refused whole, the old one stays."""
    put(http, f"/v1/{users}/b1", {"email": "b1", "team": "red"}, 201)
    put(http, f"/v1/{users}/b2", {"email": "b2", "team": "red"}, 201)
    response = http.put(f"/v1/_collections/{users}", json={"unique": ["name", "team"]})
    problem = assert_problem(response, 409, "unique-violation")
    assert problem["conflicts"][0]["fields"] == ["team"]
    assert "red" not in response.text
    assert http.get(f"/v1/_collections/{users}").json()["unique"] == ["email"]
    put(http, f"/v1/{users}/b3", {"email": "b3", "name": "Ann"}, 201)
    assert_unique_violation(http.post(f"/v1/{users}", json={"email": TAKEN}), ["email"])


BAD_SETTINGS = [
    pytest.param(b"{", JSON, 400, "malformed-json", id="truncated-json"),
    pytest.param(b"", JSON, 400, "malformed-json", id="empty-body"),
    pytest.param(b'{"unique": ["a"]}', {"content-type": "text/plain"}, 415, None, id="text"),
    pytest.param(b'{"unique": ["a"]}', {}, 415, "unsupported-media-type", id="no-type"),
    pytest.param(b'["email"]', JSON, 422, "invalid-document", id="array-body"),
    pytest.param(b"{}", JSON, 422, "invalid-document", id="missing-unique"),
    pytest.param(b'{"unique": ["a"], "x": 1}', JSON, 422, "invalid-document", id="extra-member"),
    pytest.param(b'{"unique": "email"}', JSON, 422, "invalid-document", id="unique-string"),
    pytest.param(b'{"unique": null}', JSON, 422, "invalid-document", id="unique-null"),
    pytest.param(b'{"unique": [1]}', JSON, 422, "invalid-document", id="number-entry"),
    pytest.param(b'{"unique": [[]]}', JSON, 422, "invalid-document", id="empty-key"),
    pytest.param(b'{"unique": [["a", {}]]}', JSON, 422, "invalid-document", id="object-in-key"),
    pytest.param(b'{"unique": ["a.b"]}', JSON, 422, "invalid-document", id="dotted"),
    pytest.param(b'{"unique": ["a\'b"]}', JSON, 422, "invalid-document", id="quote"),
    pytest.param(b'{"unique": ["a", "a"]}', JSON, 422, "invalid-document", id="twice"),
    pytest.param(b'{"unique": ["a"], "unique": []}', JSON, 422, None, id="duplicate-member"),
    pytest.param(
        b'{"unique": [' + b",".join(b'"f%d"' % n for n in range(17)) + b"]}",
        JSON,
        422,
        "invalid-document",
        id="too-many-keys",
    ),
    pytest.param(
        b'{"unique": ["' + b"x" * (1024 * 1024) + b'"]}', JSON, 413, "content-too-large", id="big"
    ),
]


@pytest.mark.parametrize(("body", "headers", "status", "slug"), BAD_SETTINGS)
def test_bad_settings_change_nothing(
    http: httpx.Client,
    users: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    slug: str | None,
) -> None:
    """Each malformed declaration is a 4xx problem; the declaration in force stays."""
    response = http.put(f"/v1/_collections/{users}", content=body, headers=headers)
    assert_problem(response, status, slug)
    assert http.get(f"/v1/_collections/{users}").json()["unique"] == ["email"]
    assert_unique_violation(http.post(f"/v1/{users}", json={"email": TAKEN}), ["email"])


@pytest.mark.parametrize("name", ["_x", "a%20b", "x" * 256])
def test_invalid_collection_names_are_400(http: httpx.Client, name: str) -> None:
    """The collection in the path follows the name rules, on GET and PUT."""
    for method in ("GET", "PUT"):
        response = http.request(method, f"/v1/_collections/{name}", json={"unique": []})
        assert assert_problem(response, 400, "invalid-parameter")["parameter"] == "collection"


@pytest.mark.parametrize("method", ["DELETE", "POST", "PATCH", "OPTIONS"])
def test_other_methods_are_405(http: httpx.Client, users: str, method: str) -> None:
    """The settings resource allows GET, HEAD and PUT only."""
    response = http.request(method, f"/v1/_collections/{users}", json={"unique": []})
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, HEAD, PUT"
    assert http.get(f"/v1/_collections/{users}").json()["unique"] == ["email"]


def test_documents_under_reserved_names_stay_refused(http: httpx.Client) -> None:
    """_collections is not a collection of documents: its other paths stay 400."""
    for method, path in [
        ("GET", "/v1/_collections"),
        ("POST", "/v1/_collections"),
        ("GET", "/v1/_collections/x/versions"),
    ]:
        response = http.request(method, path, json={})
        assert assert_problem(response, 400, "invalid-parameter")["parameter"] == "collection"


def test_every_error_in_this_module_was_a_problem(service: ServiceProcess) -> None:
    """The server's access log has a problem type for every 4xx it sent."""
    untyped = [r for r in service.access_log() if r["status"] >= 400 and not r["problem"]]
    assert untyped == []
