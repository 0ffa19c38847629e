"""A request whose body ends early is never executed by the service, keyed or not.

Each test sends a write whose body stops after 40 of its 100 bytes (with
Content-Length, or chunked without the last chunk) and then closes or
half-closes the connection (tests/cut.py), waits for the access log to say
how the request ended, and checks that nothing changed; then the client's
real retry, the whole body under the same Idempotency-Key, is applied once.
Runs on SQLite and on PostgreSQL (the `service` fixture), whose key stores
record a POST's answer in the document's own transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.cut import BODY, CUTS, Cut, send_cut
from tests.servers import ServiceProcess

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


def name() -> str:
    return f"cut-{uuid.uuid4().hex[:12]}"


def with_key(keyed: bool, headers: dict[str, str]) -> dict[str, str]:
    """The request's header fields, with a fresh Idempotency-Key when `keyed`."""
    return {**headers, "Idempotency-Key": f'"{uuid.uuid4()}"'} if keyed else headers


def cut_and_log(
    service: ServiceProcess, method: str, path: str, headers: dict[str, str], cut: Cut
) -> dict[str, Any]:
    """Send the cut request; what it got back and how the access log says it ended."""
    answer = send_cut(service.url, method, path, headers, cut)
    records = service.wait_for_log(lambda r: r["method"] == method and r["path"] == path)
    return {
        "answer": answer,
        "logged": [(r["status"], r["problem"]) for r in records],
        "traceback": "Traceback" in service.log_path.read_text(),
    }


#: What a cut request gets: no answer (the client is gone), 499 in the log, no traceback.
NOT_EXECUTED = {"answer": b"", "logged": [(499, None)], "traceback": False}


def items(http: httpx.Client, collection: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = http.get(f"/v1/{collection}").json()["items"]
    return found


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.parametrize("cut", CUTS, ids=str)
def test_cut_post_creates_nothing_and_its_retry_is_201(
    service: ServiceProcess, http: httpx.Client, cut: Cut, keyed: bool
) -> None:
    """A POST cut short creates no document; the whole retry (same key) creates one: 201."""
    collection = name()
    headers = with_key(keyed, {"Content-Type": JSON})
    seen = cut_and_log(service, "POST", f"/v1/{collection}", headers, cut)
    seen["documents"] = len(items(http, collection))
    retry = http.post(f"/v1/{collection}", content=BODY, headers=headers)
    seen["retry"] = retry.status_code, retry.headers.get("idempotent-replayed")
    assert seen == {**NOT_EXECUTED, "documents": 0, "retry": (201, None)}
    [document] = items(http, collection)
    assert document["document"] == json.loads(BODY)
    assert http.get(retry.headers["location"]).content == BODY  # stored as received


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.parametrize("cut", CUTS, ids=str)
def test_cut_put_creates_nothing(
    service: ServiceProcess, http: httpx.Client, cut: Cut, keyed: bool
) -> None:
    """A PUT with If-None-Match: * cut short creates nothing; the whole retry creates it: 201."""
    path = f"/v1/{name()}/doc"
    headers = with_key(keyed, {"Content-Type": JSON, "If-None-Match": "*"})
    seen = cut_and_log(service, "PUT", path, headers, cut)
    seen["get"] = http.get(path).status_code
    seen["retry"] = http.put(path, content=BODY, headers=headers).status_code
    assert seen == {**NOT_EXECUTED, "get": 404, "retry": 201}
    assert http.get(path).content == BODY


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.parametrize("cut", CUTS, ids=str)
def test_cut_patch_changes_nothing(
    service: ServiceProcess, http: httpx.Client, cut: Cut, keyed: bool
) -> None:
    """A merge patch with If-Match cut short changes nothing; the whole retry applies: 200."""
    path = f"/v1/{name()}/doc"
    created = http.put(path, json={"qty": 0}, headers={"If-None-Match": "*"})
    assert created.status_code == 201
    etag = created.headers["etag"]
    headers = with_key(keyed, {"Content-Type": MERGE_PATCH, "If-Match": etag})
    seen = cut_and_log(service, "PATCH", path, headers, cut)
    current = http.get(path)
    seen["unchanged"] = current.headers["etag"] == etag and current.json() == {"qty": 0}
    seen["retry"] = http.patch(path, content=BODY, headers=headers).status_code
    assert seen == {**NOT_EXECUTED, "unchanged": True, "retry": 200}
    assert http.get(path).json() == {"item": "tea", "qty": 1, "note": "cut"}
